"""The progress reminder of a large change in progress (issue 16, seed §5.1: a project with
progress updates): when no progress was reported for `CHANGE_PROGRESS_INTERVAL_WORKING_DAYS`
working days (the organisation's office calendar) since the start or the last public update of
the provider, the assignee (without one: the agents) is reminded; again every interval until
progress is reported.

A rule of escalation's reminders machinery: `next_check` is registered with the SLA engine (the
sweep looks at the ticket again when it comes due) and `run` answers the sweep's
`ticket_evaluated`; a `Reminder` row counts per period (the anchor) and the notification's dedup
key carries that count, so each reminder is sent once.
"""

from datetime import timedelta

from django.conf import settings
from django_scopes import scopes_disabled

from escalation.matrix import users_with_roles
from escalation.models import Reminder
from escalation.outbox import notify_all
from escalation.reminders import bump_reminder, reminder_row
from pim.models import STAFF_ROLES, Role
from sla import services as sla
from tickets.models import Kind, TicketUpdate, Visibility

from . import notifications
from .models import ChangeRequest, ChangeType, Stage

RULE = "change_progress"


def interval_days() -> int:
    return max(1, int(settings.CHANGE_PROGRESS_INTERVAL_WORKING_DAYS))


def _anchor(ticket, change):
    """The start of the work or the provider's last public update, whichever is later."""
    last = (
        TicketUpdate.objects.filter(
            ticket=ticket,
            visibility=Visibility.PUBLIC,
            author__membership__role__in=sorted(STAFF_ROLES),
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return max(filter(None, (change.started_at, last)))


def due(ticket):
    """(change, anchor, count, due_at) of the next progress reminder, or None."""
    if ticket.kind != Kind.CHANGE or not ticket.is_open:
        return None
    change = ChangeRequest.objects.filter(
        ticket=ticket, type=ChangeType.LARGE, stage=Stage.IN_PROGRESS
    ).first()
    if change is None or change.started_at is None:
        return None
    calendar = sla.office_calendar_of(ticket)
    if calendar is None:
        return None
    anchor = _anchor(ticket, change)
    reminder = Reminder.objects.filter(ticket=ticket, rule=RULE, period=anchor).first()
    count = reminder.count if reminder else 0
    return change, anchor, count, calendar.add_working_days(anchor, interval_days() * (count + 1))


def run(ticket, now) -> bool:
    """Send the progress reminder that has come due; True when one was sent."""
    with scopes_disabled():
        found = due(ticket)
        if found is None or found[3] > now:
            return False
        change, anchor, _count, _due_at = found
        reminder = reminder_row(ticket, RULE, anchor)
        recipients = (
            [ticket.assignee]
            if ticket.assignee is not None and ticket.assignee.is_active
            else users_with_roles([Role.AGENT])
        )
        notify_all(
            recipients,
            ticket=ticket,
            trigger=f"{RULE}:{int(anchor.timestamp())}:{reminder.count + 1}",
            template=notifications.STAFF_TEMPLATE,
            context={"step": "progress_due", "days": interval_days()},
            now=now,
        )
        bump_reminder(reminder, now)
        return True


def next_check(ticket, now):
    """When the sweep must look at the ticket again for this rule (registered with sla)."""
    with scopes_disabled():
        found = due(ticket)
        return max(found[3], now + timedelta(seconds=1)) if found else None
