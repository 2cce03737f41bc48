"""The demo's post-incident review (issue 16 item 5): a P1 incident of Acme Zorg, resolved and
confirmed, with its review filed before the due date and published, and two actions (one done),
each step at its own moment; it is linked (related) to the change that replaces the
telephone exchange."""

from datetime import timedelta

from reviews import services as review_services
from tickets import links
from tickets import services as ticket_services
from tickets.models import Kind, Ticket

REVIEW = {
    "timeline": (
        "09:12 meldingen: niemand kan bellen\n09:20 storingsdienst gealarmeerd\n"
        "10:05 defecte voeding in de centrale gevonden\n11:40 voeding vervangen, alles werkt"
    ),
    "cause": "Een defecte voeding in de telefooncentrale op het hoofdkantoor.",
    "impact": "Ruim twee uur konden de medewerkers van Acme Zorg niet in- of uitbellen.",
    "went_well": "De storingsdienst was binnen tien minuten ingeschakeld.",
    "went_wrong": "Er lag geen reservevoeding op locatie; die moest uit Zeist komen.",
    "published": True,
}


def seed_review(at, organization, reporter, agent, manager, now):
    """File the P1 and live its history; returns the number of tickets made (1)."""
    reported = now - timedelta(days=12, hours=3)
    with at(reported):
        ticket = ticket_services.create_ticket(
            actor=reporter,
            title="Telefooncentrale hoofdkantoor volledig uitgevallen",
            description="Niemand kan in- of uitbellen.",
            priority=1,
            service=organization.services.order_by("pk").first(),
        )
    with at(reported + timedelta(minutes=8)):
        ticket_services.take(ticket, agent)
    resolved = reported + timedelta(hours=2, minutes=30)
    with at(resolved):
        ticket_services.transition(
            ticket,
            agent,
            "resolved",
            resolution={
                "resolution_type": "definitive",
                "resolution_cause": REVIEW["cause"],
                "resolution_how": "Voeding vervangen en de centrale getest.",
            },
        )
    with at(resolved + timedelta(hours=3)):
        ticket.refresh_from_db()
        ticket_services.confirm_resolution(ticket, reporter)
    filed = resolved + timedelta(days=2)
    actions = [
        {"description": "Reservevoeding op elke locatie", "owner": manager,
         "due": (filed + timedelta(days=30)).date(), "done": False},
        {"description": "Alarm op uitval van de voeding", "owner": agent,
         "due": (filed + timedelta(days=5)).date(), "done": True},
    ]  # fmt: skip
    with at(filed):
        review_services.save_review(ticket, agent, REVIEW, actions)
        # the review's lasting fix is the change to the new telephone exchange (a demo link)
        change = Ticket.objects.filter(
            organization=organization, kind=Kind.CHANGE, title__startswith="Migratie"
        ).first()
        if change is not None:
            links.add_link(ticket, agent, change, "related")
    return 1
