"""Escalation by the customer (SPEC §5, escalation by performance) and who sees which
escalations. The matrix, the outbox, acknowledgement and webhooks have modules of their own
(`matrix`, `outbox`, `acknowledge`, `webhooks/`); `receivers` connects them to the signals of
tickets and sla.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from pim.permissions import is_provider_staff, may_escalate
from tickets.models import Status, Ticket

from .matrix import raise_escalation
from .models import (
    CUSTOMER_TRIGGER,
    LEVEL_ORDER,
    Escalation,
    Level,
    Trigger,
    TriggerEvent,
    level_rank,
)


def escalate_by_customer(ticket, user, reason: str, now=None) -> Escalation:
    """An authorised contact escalates (SPEC §5, escalation by performance) with a reason. The
    level is the customer trigger's, or one above the ticket's highest escalation so far."""
    if not may_escalate(user):
        raise PermissionDenied(_("Only authorised contacts can escalate a ticket."))
    if not Ticket.objects.visible_to(user).filter(pk=ticket.pk).exists():
        raise PermissionDenied(_("You cannot act on this ticket."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why you escalate this ticket.")})
    if ticket.status == Status.CLOSED:
        raise ValidationError({"reason": _("This ticket is closed; please open a new ticket.")})
    now = now or timezone.now()
    with transaction.atomic(), scopes_disabled():
        escalation, created = raise_escalation(
            ticket,
            _customer_level(ticket),
            CUSTOMER_TRIGGER,
            at=now,
            reason=reason[:5000],
            raised_by=user,
        )
    if not created:  # the highest level is open already (at most one open per level)
        raise ValidationError(
            {"reason": _("This ticket is escalated to the highest level already; our management "
                         "is on it.")}
        )  # fmt: skip
    return escalation


def _customer_level(ticket) -> str:
    """The customer trigger's level, or one above the ticket's highest escalation so far."""
    trigger = Trigger.objects.filter(event=TriggerEvent.CUSTOMER, active=True).first()
    level = trigger.level if trigger else Level.LOW
    highest = [level_rank(e.level) for e in Escalation.objects.filter(ticket=ticket)]
    if highest:
        level = LEVEL_ORDER[max(level_rank(level), min(max(highest) + 1, 3))]
    return level


def escalations_for(ticket, user):
    """The escalations of a ticket `user` may see: staff all, customers the ones customers
    raised (internal escalations stay internal)."""
    qs = Escalation.objects.filter(ticket__in=Ticket.objects.visible_to(user), ticket=ticket)
    if not is_provider_staff(user):
        qs = qs.filter(trigger=CUSTOMER_TRIGGER)
    return qs.select_related("raised_by", "acknowledged_by")
