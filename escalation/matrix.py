"""The escalation matrix (SPEC §5): who owns a level, its deputies, the triggers that raise
escalations, and raising them. Everything runs inside the caller's transaction; clock and
registration triggers raise once per ticket, so a late or repeated evaluation raises nothing twice.
"""

import contextvars
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled

from pim import config_cache
from pim.models import User
from tickets.services import record_audit

from .models import CUSTOMER_TRIGGER, Escalation, MatrixRow, Trigger, TriggerEvent
from .outbox import notify_all
from .webhooks import events as webhook_events


def matrix_row(level):
    return MatrixRow.objects.filter(level=level).first()


def users_with_roles(roles):
    return list(
        User.objects.filter(is_active=True, membership__role__in=list(roles))
        .select_related("membership")
        .order_by("pk")
    )


def recipients(escalation, tier, row=None):
    """The users of the level's owner (tier 0), 1st (1) or 2nd deputy (2), mapped by role.

    For the owner tier, an assignee who holds one of the owner roles is the owner; otherwise
    every active user with one of the roles is notified.
    """
    row = row or matrix_row(escalation.level)
    if row is None:
        return []
    roles = row.roles_for_tier(tier)
    assignee = escalation.ticket.assignee
    if tier == 0 and assignee is not None and assignee.is_active and assignee.role in roles:
        return [assignee]
    return users_with_roles(roles)


def deputy_delay(row) -> timedelta:
    minutes = row.deputy_after_minutes if row and row.deputy_after_minutes else None
    return timedelta(minutes=minutes or settings.ESCALATION_DEPUTY_MINUTES)


def notification_trigger(escalation) -> str:
    if escalation.trigger == CUSTOMER_TRIGGER:
        return f"{CUSTOMER_TRIGGER}:{escalation.pk}"
    return escalation.trigger


def notify_tier(escalation, tier, row=None, now=None, *, fresh=False):
    """Notify a tier of the level (`fresh`: the escalation was raised in this transaction, so
    its notifications cannot exist yet: one INSERT for all of them)."""
    row = row or matrix_row(escalation.level)
    return notify_all(
        recipients(escalation, tier, row),
        ticket=escalation.ticket,
        trigger=notification_trigger(escalation),
        level=escalation.level,
        template="escalation",
        context={"escalation": escalation.pk, "tier": tier},
        now=now,
        fresh=fresh,
    )


# --- triggers ---------------------------------------------------------------------------------
# The active triggers are a handful of rows read on every write of a ticket: each process keeps
# them as a configuration copy (`pim.config_cache`), and every save or delete of a trigger makes
# it stale (`receivers.py`; QuerySet.update() sends no signal: change triggers through save(),
# as the admin does), so an edit applies at once. During a sweep they are read once for the
# whole sweep.
_sweep_triggers = contextvars.ContextVar("escalation_sweep_triggers", default=None)


def _active_rows():
    return config_cache.get(
        ("escalation:active-triggers",),
        lambda: list(Trigger.objects.filter(active=True).order_by("pk")),
    )


@contextmanager
def triggers_cached():
    token = _sweep_triggers.set(list(Trigger.objects.filter(active=True)))
    try:
        yield
    finally:
        _sweep_triggers.reset(token)


def active_triggers(event, target=None):
    cached = _sweep_triggers.get()
    rows = cached if cached is not None else _active_rows()
    return [t for t in rows if t.event == event and (target is None or t.target == (target or ""))]


# --- raising --------------------------------------------------------------------------------


def _existing(ticket, level, trigger):
    """The escalation a new one would duplicate: the open one at `level` (at most one open per
    level, SPEC §5), or the one this clock or registration trigger raised before."""
    same = Q(level=level, closed_at__isnull=True)
    if trigger != CUSTOMER_TRIGGER:
        same |= Q(trigger=trigger)
    return Escalation.objects.filter(same, ticket=ticket).order_by("closed_at", "pk").first()


def raise_escalation(ticket, level, trigger, *, at=None, reason="", raised_by=None):
    """Raise an escalation and notify the level's owner. Clock and registration triggers raise
    once per ticket, and a level that is open already is not raised again (a second call returns
    the existing one); returns (escalation, created)."""
    at = at or timezone.now()
    existing = _existing(ticket, level, trigger)
    if existing is not None:
        return existing, False
    row = matrix_row(level)
    try:
        with transaction.atomic():
            escalation = Escalation.objects.create(
                ticket=ticket,
                level=level,
                trigger=trigger,
                reason=reason,
                raised_by=raised_by,
                raised_at=at,
                tier=0,
                next_deputy_at=at + deputy_delay(row),
            )
    except IntegrityError:  # a concurrent evaluation raised it first
        return _existing(ticket, level, trigger), False
    # A new escalation: its owner notifications are new too (the key names the trigger, or the
    # escalation itself for a customer's), written in one INSERT.
    notify_tier(escalation, 0, row, now=at, fresh=True)
    webhook_events.escalation_raised(escalation)
    record_audit(
        ticket,
        raised_by,
        "escalated",
        {"level": [None, level], "trigger": [None, trigger]},
        obj=escalation,
    )
    return escalation, True


def fire(ticket, event, *, target="", at=None):
    """Raise what the active triggers of `event` (and `target`) ask for. A resolved or closed
    ticket raises nothing: escalations are about what can still be saved."""
    if not ticket.is_open:
        return []
    raised = []
    for trigger in active_triggers(event, target or ""):
        if trigger.applies_to(ticket):
            escalation, created = raise_escalation(ticket, trigger.level, trigger.code, at=at)
            if created:
                raised.append(escalation)
    return raised


def needs_registration_escalation(ticket) -> bool:
    """A ticket (re)classified so that a registration trigger applies, not yet escalated by it
    (nor covered by an open escalation at the trigger's level). Never a problem: it is
    provider-internal and has no customer SLA (see receivers.ticket_registered)."""
    if not ticket.is_open or ticket.kind == "problem":
        return False
    triggers = [t for t in active_triggers(TriggerEvent.REGISTERED) if t.applies_to(ticket)]
    if not triggers:
        return False
    rows = Escalation.objects.filter(ticket=ticket).values_list("trigger", "level", "closed_at")
    raised = {code for code, _level, _closed in rows}
    open_levels = {level for _code, level, closed in rows if closed is None}
    return any(t.code not in raised and t.level not in open_levels for t in triggers)


# --- deputies -------------------------------------------------------------------------------


def fallback_to_deputies(now=None, batch_size: int = 500) -> int:
    """Unacknowledged escalations whose time ran out go to the next deputy."""
    now = now or timezone.now()
    moved = 0
    with scopes_disabled(), transaction.atomic():
        qs = Escalation.objects.filter(
            next_deputy_at__lte=now, acknowledged_at__isnull=True, closed_at__isnull=True
        ).order_by("next_deputy_at")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        for escalation in qs.select_related("ticket")[:batch_size]:
            row = matrix_row(escalation.level)
            escalation.tier = min(escalation.tier + 1, 2)
            escalation.next_deputy_at = now + deputy_delay(row) if escalation.tier < 2 else None
            escalation.save(update_fields=["tier", "next_deputy_at"])
            notify_tier(escalation, escalation.tier, row, now=now)
            moved += 1
    return moved
