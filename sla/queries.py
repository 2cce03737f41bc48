"""Read paths for clocks: live clocks for pages and the API, the sla_state filter, compliance."""

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from . import services
from .models import Clock


def with_clock_data(queryset):
    """Prefetch what live clocks need (terms and ledger): two queries for any number of rows."""
    return queryset.select_related("sla_terms").prefetch_related("clock_events")


def live_clocks(ticket, now=None):
    """The clocks of a ticket as of now, from its ledger (pages and API agree by construction)."""
    try:
        terms = ticket.sla_terms.terms
    except ticket._meta.model.sla_terms.RelatedObjectDoesNotExist:
        return []
    events = [
        services.engine.Event(e.kind, e.at, e.until, e.data)
        for e in sorted(ticket.clock_events.all(), key=lambda e: (e.at, e.pk))
    ]
    return services.compute(ticket, now, events=events, terms=terms)


def state_q(state, now=None):
    """Clocks whose live state is `state` (stored state plus what the clock says now)."""
    now = now or timezone.now()
    running = Q(stopped_at__isnull=True, paused=False)
    if state == "breached":
        return Q(state="breached") | (running & Q(due_at__lte=now))
    if state == "at_risk":
        return (
            (Q(state="at_risk") | (running & Q(at_risk_at__lte=now)))
            & ~(running & Q(due_at__lte=now))
            & ~Q(state__in=["breached", "met"])
        )
    if state == "pending":
        return Q(state="pending") & ~(running & Q(at_risk_at__lte=now))
    if state == "met":
        return Q(state="met")
    return Q(pk__in=[])


def filter_tickets_by_state(queryset, state, now=None):
    """Tickets with at least one clock in `state`."""
    clocks = Clock.objects.filter(state_q(state, now), ticket=OuterRef("pk"))
    return queryset.filter(Exists(clocks))


def compliance(user, *, since=None, until=None, organization_id=None, now=None):
    """Per month × organisation × priority × target: count, met, breached, share within target,
    average restore time against the average goal. One SQL query (plus one for the goals)."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.db.models import Avg, Count
    from django.db.models.functions import TruncMonth

    from pim.scoping import organization_filter

    from .models import PolicyTarget

    now = now or timezone.now()
    qs = Clock.objects.filter(organization_filter(user, "ticket__organization")).filter(
        ticket__sla_not_applicable=False
    )
    if organization_id:
        qs = qs.filter(ticket__organization_id=organization_id)
    if since:
        qs = qs.filter(ticket__reported_at__gte=since)
    if until:
        qs = qs.filter(ticket__reported_at__lt=until)
    rows = (
        qs.annotate(month=TruncMonth("ticket__reported_at", tzinfo=ZoneInfo(settings.TIME_ZONE)))
        .values("month", "ticket__organization__name", "ticket__priority", "target")
        .annotate(
            total=Count("id"),
            met=Count("id", filter=state_q("met", now)),
            breached=Count("id", filter=state_q("breached", now)),
            avg_restore=Avg("used_seconds", filter=Q(target="restore", stopped_at__isnull=False)),
        )
        .order_by("-month", "ticket__organization__name", "ticket__priority", "target")
    )
    goals = {
        (t.kind, t.priority): t.average_goal_minutes
        for t in PolicyTarget.objects.filter(
            target="restore", average_goal_minutes__isnull=False
        ).order_by("-policy_id")
    }
    out = []
    for r in rows:
        decided = r["met"] + r["breached"]
        goal = goals.get(("incident", r["ticket__priority"])) if r["target"] == "restore" else None
        out.append(
            {
                "month": r["month"].astimezone(UTC) if r["month"] else None,
                "organization": r["ticket__organization__name"],
                "priority": r["ticket__priority"],
                "target": r["target"],
                "count": r["total"],
                "met": r["met"],
                "breached": r["breached"],
                "open": r["total"] - decided,
                "share_within_target": round(100 * r["met"] / decided, 1) if decided else None,
                "average_restore_minutes": (
                    round(r["avg_restore"] / 60) if r["avg_restore"] is not None else None
                ),
                "average_goal_minutes": goal,
            }
        )
    return out
