"""What escalation adds to the manager dashboard (`sla.dashboard`) and the ticket lists'
`escalation` filter: the open escalations per level, for provider staff all of them (the
internal matrix), for authorised contacts only those their organisation raised."""

from django.db.models import Count, Min, Q

from pim.permissions import is_provider_staff
from tickets.models import Ticket

from .models import CUSTOMER_TRIGGER, LEVEL_ORDER, Escalation, Level


def open_escalations(user):
    """The open escalations `user` may see (tickets through the tenant choke point)."""
    qs = Escalation.objects.filter(
        closed_at__isnull=True, ticket__in=Ticket.objects.visible_to(user)
    )
    if not is_provider_staff(user):
        qs = qs.filter(trigger=CUSTOMER_TRIGGER)  # the internal matrix stays internal
    return qs


def dashboard_part(user, organization_id, now):
    """Per level: the open escalations and the age of the oldest (one GROUP BY)."""
    qs = open_escalations(user)
    if organization_id:
        qs = qs.filter(ticket__organization_id=organization_id)
    found = {
        r["level"]: r
        for r in qs.values("level").annotate(n=Count("pk"), oldest=Min("raised_at")).order_by()
    }
    levels = []
    for level in LEVEL_ORDER:
        row = found.get(level)
        levels.append(
            {
                "level": level.value,
                "label": Level(level).label,
                "count": row["n"] if row else 0,
                "oldest_seconds": int((now - row["oldest"]).total_seconds()) if row else None,
            }
        )
    return {"levels": levels, "total": sum(r["count"] for r in levels)}


def escalation_q(value, user, cleaned):
    """Tickets with an open escalation at level `value` that `user` may see (one per ticket
    and level, so the count per level is the number of tickets)."""
    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    return Q(pk__in=open_escalations(user).filter(level=value).values("ticket_id"))
