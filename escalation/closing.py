"""Closing escalations when their ticket is resolved or closed (SPEC §5: escalations are about
what can still be saved). The open escalations close in the transition's transaction, each
audited, no deputy is called any more, and the people they were sent to are told once (one
`escalation_closed` notification per person and closing, through the outbox).
"""

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pim.models import User
from tickets.models import Status
from tickets.services import record_audit

from . import delivery
from .models import Escalation, Level, Notification
from .outbox import notify_all

TEMPLATE = "escalation_closed"


def close_open_escalations(ticket, *, actor=None, status="", at=None) -> list[Escalation]:
    """Close the ticket's open escalations (audited) and tell their recipients once."""
    at = at or timezone.now()
    closing = list(Escalation.objects.filter(ticket=ticket, closed_at__isnull=True).order_by("pk"))
    if not closing:
        return []
    ids = [e.pk for e in closing]
    Escalation.objects.filter(pk__in=ids).update(closed_at=at, next_deputy_at=None)
    for escalation in closing:
        escalation.closed_at, escalation.next_deputy_at = at, None
        record_audit(
            ticket,
            actor,
            "escalation_closed",
            {"level": escalation.level, "status": status},
            obj=escalation,
        )
    told = User.objects.filter(
        pk__in=Notification.objects.filter(escalation_id__in=ids, recipient__isnull=False)
        .values("recipient_id")
        .distinct(),
        is_active=True,
    ).order_by("pk")
    # All of the ticket's open escalations close together, so the newest of them names this
    # closing: the dedup key makes the notice once per person and closing.
    notify_all(
        told,
        ticket=ticket,
        trigger=f"{TEMPLATE}:{ids[-1]}",
        template=TEMPLATE,
        context={
            "escalation": ids[-1],
            "levels": [e.level for e in closing],
            "status": status,
        },
        now=at,
    )
    return closing


def message_for(notification):
    """(subject, body, extra) of an `escalation_closed` notification in the active language."""
    ticket = notification.ticket
    context = notification.context or {}
    params = {
        "number": ticket.number if ticket else "",
        "title": ticket.title if ticket else "",
        "levels": ", ".join(
            str(Level(level).label) for level in context.get("levels", []) if level in Level
        ),
    }
    count = len(context.get("levels", [])) or 1
    subject = _("Escalation closed: %(number)s %(title)s") % params
    if context.get("status") == Status.CLOSED:
        body = ngettext(
            "Ticket %(number)s is closed, so its escalation (level %(levels)s) was closed "
            "automatically. Nothing more is needed from you.",
            "Ticket %(number)s is closed, so its escalations (levels %(levels)s) were closed "
            "automatically. Nothing more is needed from you.",
            count,
        )
    else:
        body = ngettext(
            "Ticket %(number)s is resolved, so its escalation (level %(levels)s) was closed "
            "automatically. Nothing more is needed from you.",
            "Ticket %(number)s is resolved, so its escalations (levels %(levels)s) were closed "
            "automatically. Nothing more is needed from you.",
            count,
        )
    return subject, body % params, {}


def render_email(notification):
    """The e-mail of an `escalation_closed` notification, in the recipient's language."""
    return delivery.compose_email(notification, message_for)


def install_renderer():
    delivery.register_renderer(TEMPLATE, message_for, render_email)
