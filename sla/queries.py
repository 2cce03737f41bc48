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
