"""Demo problem management (issue 16): a problem raised from incidents of both organisations,
its known error with a workaround (published to Acme, for its telephony), the workaround sent
to the people concerned, and a customer who follows it. Every step through the problems
services at its own moment."""

from datetime import timedelta

from pim.models import Organization
from problems import services as problems
from tickets.models import OPEN_STATUSES, Kind, Ticket

TITLE = "Gesprekken vallen weg bij doorverbinden"
WORKAROUND = (
    "Verbind door via de operatorconsole in plaats van via het toestel; de beller blijft dan "
    "aan de lijn. Na de firmware-update van de SBC is dit niet meer nodig."
)


def _incidents(slug, count):
    """The newest open incidents of an organisation, then its newest others."""
    qs = Ticket.objects.filter(organization__slug=slug, kind=Kind.INCIDENT)
    found = list(qs.filter(status__in=sorted(OPEN_STATUSES)).order_by("-reported_at")[:count])
    others = qs.exclude(pk__in=[t.pk for t in found]).order_by("-reported_at")
    return found + list(others[: count - len(found)])


def seed_problems(at, agent, follower, now):
    """Returns the number of tickets made (the problem ticket)."""
    incidents = _incidents("acme", 2) + _incidents("globex", 1)
    if not incidents:
        return 0
    raised = max(i.reported_at for i in incidents) + timedelta(minutes=30)
    raised = min(raised, now - timedelta(minutes=20))
    with at(raised):
        problem = problems.raise_problem(
            agent,
            title=TITLE,
            description="Bij meerdere klanten valt een gesprek weg zodra het wordt doorverbonden "
            "naar een extern nummer. Oorzaak onbekend; onderzoek op de SBC.",
            impact="high",
            urgency="medium",
            incidents=incidents,
        )
    acme = Organization.objects.get(slug="acme")
    with at(raised + timedelta(minutes=5)):
        problems.update_problem(
            problem, agent, root_cause="Firmwarefout in de SBC bij doorverbinden via SIP REFER."
        )
        known_error = problems.save_known_error(
            problem,
            agent,
            title="Doorverbonden gesprek valt weg",
            symptoms="Het gesprek valt weg zodra het wordt doorverbonden naar een extern nummer.",
            root_cause="Firmwarefout in de SBC (SIP REFER).",
            workaround=WORKAROUND,
            services=list(acme.services.filter(code="telefonie")),
            published_to=[acme],
        )
    with at(raised + timedelta(minutes=10)):
        problems.send_workaround(known_error, agent)
        problems.follow(known_error, follower)
    return 1
