"""The demo's availability (SPEC §9): a kind (and for the WAN connections the target of their
contract) for every demo service, and two outages: Acme's P1 of the post-incident review
(telephony, office hours, its defaults: report → restore) and a night-time storage outage of
Globex's datacenter (24/7) of which an hour of emergency maintenance is no downtime."""

from datetime import timedelta
from decimal import Decimal

from maintenance import services as maintenance_services
from maintenance.models import Impact, Kind, Status
from pim.models import Service
from sla import outages
from sla.models import ServiceKind, ServiceLevel
from tickets import services as ticket_services
from tickets.models import Ticket

LEVELS = {
    ("acme", "telefonie"): (ServiceKind.SERVICE_SUPPORT, None),
    ("acme", "werkplek"): (ServiceKind.PLATFORM, None),
    ("acme", "netwerk"): (ServiceKind.CORE_NETWORK, None),
    ("globex", "contactcenter"): (ServiceKind.ONCALL, None),
    ("globex", "datacenter"): (ServiceKind.DATACENTER, None),
    ("globex", "wan"): (ServiceKind.CONNECTION, Decimal("99.5")),
}
REVIEW_TITLE = "Telefooncentrale hoofdkantoor volledig uitgevallen"


def seed_levels():
    """Every demo service's level; one an admin changed is left as it is."""
    for (org, code), (kind, target) in LEVELS.items():
        service = Service.objects.filter(organization__slug=org, code=code).first()
        if service is not None:
            ServiceLevel.objects.get_or_create(
                service=service, defaults={"kind": kind, "target": target}
            )


def seed_outages(at, agent, now):
    """Mark the two outages (the datacenter's incident is filed here); returns tickets made."""
    review_p1 = Ticket.objects.filter(title=REVIEW_TITLE, kind="incident").first()
    if review_p1 is not None:
        with at(review_p1.resolved_at + timedelta(hours=1)):
            outages.mark_outage(review_p1, agent)
    datacenter = Service.objects.get(organization__slug="globex", code="datacenter")
    night = (now - timedelta(days=9)).replace(hour=2, minute=10, second=0, microsecond=0)
    with at(night):
        ticket = ticket_services.create_ticket(
            actor=agent,
            organization=datacenter.organization,
            title="Opslagcluster datacenter Rotterdam onbereikbaar",
            description="Monitoring: de opslag van het datacenter reageert niet meer.",
            priority=2,
            channel="monitoring",
            service=datacenter,
            reported_at=night,
        )
    with at(night + timedelta(minutes=6)):
        ticket_services.take(ticket, agent)
    # the on-call engineer replaces a controller in an hour of emergency maintenance
    with at(night + timedelta(minutes=40)):
        notice = maintenance_services.create_notice(
            agent,
            kind=Kind.EMERGENCY,
            title="Spoedonderhoud opslagcluster datacenter",
            starts_at=night + timedelta(minutes=50),
            ends_at=night + timedelta(hours=1, minutes=50),
            organizations=[datacenter.organization],
            services=[datacenter],
            impact=Impact.OUTAGE,
            emergency_scenario="Uitwijk naar de tweede locatie.",
        )
    for minutes, status in ((50, Status.IN_PROGRESS), (110, Status.COMPLETED)):
        with at(night + timedelta(minutes=minutes)):
            maintenance_services.post_status_update(notice, agent, status)
    restored = night + timedelta(hours=2, minutes=20)
    with at(restored):
        ticket_services.transition(
            ticket,
            agent,
            "resolved",
            resolution={
                "resolution_type": "definitive",
                "resolution_cause": "Een defecte controller in het opslagcluster.",
                "resolution_how": "Controller vervangen, cluster gecontroleerd.",
            },
        )
    with at(restored + timedelta(minutes=15)):
        # monitoring saw the storage go at 02:00, ten minutes before the incident was filed
        outages.mark_outage(ticket, agent, starts_at=night - timedelta(minutes=10))
    return 1
