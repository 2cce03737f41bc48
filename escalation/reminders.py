"""Reminders and automatic rules of SPEC §3.2 and §3.3, evaluated by the SLA sweep.

- P1 every 30 and P2 every 60 minutes without a public update by the provider → remind the
  assignee (counted from the response or the last public update, until resolved).
- Waiting for customer 3 working days → remind the customer, deadline +3 working days; a second
  silence → close the ticket with the SPEC message.
- Response received 2 working days → remind the assignee.
- Waiting for supplier 3 working days → remind the assignee, post an update to the customer, and
  again every 3 working days.
- Resolved → closed after AUTO_CLOSE_WORKING_DAYS working days.
- P1 post-incident report (PIR) due → remind the assignee every working day until it is filed.

`next_check(ticket, now)` tells the SLA engine when the sweep must look again (folded into
`next_sla_check_at`); `run(ticket, now)` does what has come due. Both are idempotent: a Reminder
row counts per rule and period, and notification dedup keys carry that count.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_scopes import scopes_disabled

from pim.models import STAFF_ROLES, Role
from sla import services as sla
from sla.models import TicketSla
from tickets.models import AuditEntry, Kind, Status, TicketUpdate, Visibility
from tickets.services import record_update, transition

from .matrix import needs_registration_escalation, users_with_roles
from .models import Reminder
from .outbox import notify_all

UPDATE_INTERVAL_MINUTES = {1: 30, 2: 60}
NO_UPDATE_REMINDER = (Status.WAITING_FOR_CUSTOMER, Status.PLANNED_EXTERNAL)
FOLLOW_UP_DAYS = {"waiting_for_customer": 3, "waiting_for_supplier": 3}
PIR_MAX_REMINDERS = 10


def _period(ticket):
    """Start of the ticket's current status period (its latest transition)."""
    at = (
        AuditEntry.objects.filter(ticket=ticket, action="transition")
        .order_by("-at", "-pk")
        .values_list("at", flat=True)
        .first()
    )
    return at or ticket.reported_at


def _reminder(ticket, rule, period):
    reminder = Reminder.objects.filter(ticket=ticket, rule=rule, period=period).first()
    if reminder is None:
        try:
            with transaction.atomic():
                reminder = Reminder.objects.create(ticket=ticket, rule=rule, period=period)
        except IntegrityError:
            reminder = Reminder.objects.get(ticket=ticket, rule=rule, period=period)
    return reminder


def _bump(reminder, now):
    reminder.count += 1
    reminder.last_at = now
    reminder.save(update_fields=["count", "last_at"])


# For the rules of the apps above (changes: the progress reminder of a large change): the row
# that counts a rule's reminders in one period, and counting one more.
reminder_row = _reminder
bump_reminder = _bump


def _assignee_or(ticket, roles):
    if ticket.assignee is not None and ticket.assignee.is_active:
        return [ticket.assignee]
    return users_with_roles(roles)


def _remind(recipients, ticket, rule, period, count, now):
    trigger = f"{rule}:{int(period.timestamp())}:{count}"
    return notify_all(
        recipients,
        ticket=ticket,
        trigger=trigger,
        template="reminder",
        context={"rule": rule},
        now=now,
    )


# --- update reminders (SPEC §3.3) -------------------------------------------------------------


def _update_anchor(ticket):
    """The response or the provider's last public update, whichever is later."""
    if ticket.responded_at is None:
        return None
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
    return max(filter(None, (ticket.responded_at, last)))


def _update_reminder_due(ticket):
    """(anchor, count, due_at) of the next update reminder, or None."""
    minutes = UPDATE_INTERVAL_MINUTES.get(ticket.priority)
    if (
        minutes is None
        or ticket.kind != Kind.INCIDENT
        or not ticket.is_open
        or ticket.status in NO_UPDATE_REMINDER
    ):
        return None
    anchor = _update_anchor(ticket)
    if anchor is None:
        return None
    reminder = Reminder.objects.filter(ticket=ticket, rule="update", period=anchor).first()
    count = reminder.count if reminder else 0
    return anchor, count, anchor + timedelta(minutes=minutes * (count + 1))


def _update_reminders(ticket, now):
    due = _update_reminder_due(ticket)
    if due is None or due[2] > now:
        return False
    anchor, count, _due_at = due
    reminder = _reminder(ticket, "update", anchor)
    interval = timedelta(minutes=UPDATE_INTERVAL_MINUTES[ticket.priority])
    # Catch up after a long outage with one reminder, not one per missed interval.
    missed = max(1, int((now - anchor) / interval))
    _remind(_assignee_or(ticket, [Role.AGENT]), ticket, "update", anchor, missed, now)
    reminder.count = max(reminder.count + 1, missed)
    reminder.last_at = now
    reminder.save(update_fields=["count", "last_at"])
    return True


# --- follow-ups (SPEC §3.2) ------------------------------------------------------------------

CLOSE_MESSAGE = gettext_noop(
    "We asked for your reaction twice and did not hear from you, so we close this ticket. If "
    "the problem persists, please open a new ticket."
)
SUPPLIER_MESSAGE = gettext_noop(
    "We are still waiting for our supplier and have asked them again for progress. We will "
    "keep you informed."
)


def _system_update(ticket, body):

    return record_update(ticket, None, body, Visibility.PUBLIC)


def _in_language(user, message):
    with translation.override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
        return str(_(message))


def _follow_up(ticket, terms, now):
    status = ticket.status
    if terms is None or terms.follow_up_kind != status or terms.follow_up_due_at is None:
        return False
    if terms.follow_up_due_at > now:
        return False
    period = _period(ticket)
    reminder = _reminder(ticket, status, period)
    cal = sla.office_calendar_of(ticket)
    if status == Status.WAITING_FOR_CUSTOMER:
        if reminder.count == 0:
            _remind([ticket.reporter], ticket, status, period, 1, now)
            _bump(reminder, now)
            sla.move_follow_up(ticket, cal.add_working_days(terms.follow_up_due_at, 3), now)
        else:
            notify_all(
                [ticket.reporter],
                ticket=ticket,
                trigger=f"closed_no_reaction:{int(period.timestamp())}",
                template="reminder",
                context={"rule": "closed_no_reaction"},
                now=now,
            )
            _bump(reminder, now)
            note = _in_language(ticket.reporter, CLOSE_MESSAGE)
            transition(ticket, None, Status.CLOSED, note=note)
        return True
    if status == Status.RESPONSE_RECEIVED:
        if reminder.count == 0:
            _remind(_assignee_or(ticket, [Role.AGENT]), ticket, status, period, 1, now)
            _bump(reminder, now)
            return True
        return False
    if status == Status.WAITING_FOR_SUPPLIER:
        count = reminder.count + 1
        _remind(_assignee_or(ticket, [Role.AGENT]), ticket, status, period, count, now)
        _system_update(
            ticket,
            _in_language(ticket.reporter, SUPPLIER_MESSAGE),
        )
        _bump(reminder, now)
        sla.move_follow_up(ticket, cal.add_working_days(terms.follow_up_due_at, 3), now)
        return True
    return False


# --- resolved tickets -------------------------------------------------------------------------


def auto_close_at(ticket):
    if ticket.status != Status.RESOLVED or ticket.resolved_at is None:
        return None
    cal = sla.office_calendar_of(ticket)
    if cal is None:
        return None
    return cal.add_working_days(ticket.resolved_at, settings.AUTO_CLOSE_WORKING_DAYS)


def _auto_close(ticket, now):
    at = auto_close_at(ticket)
    if at is None or at > now:
        return False
    days = settings.AUTO_CLOSE_WORKING_DAYS
    with translation.override(ticket.reporter.language or settings.LANGUAGE_CODE):
        note = _(
            "Closed automatically %(days)s working days after it was resolved. If the problem "
            "persists, please open a new ticket."
        ) % {"days": days}
    transition(ticket, None, Status.CLOSED, note=note)
    return True


def _pir_due(ticket, terms):
    if terms is None or terms.pir_due_at is None or terms.pir_filed_at is not None:
        return None
    reminder = Reminder.objects.filter(ticket=ticket, rule="pir", period=terms.pir_due_at).first()
    count = reminder.count if reminder else 0
    if count >= PIR_MAX_REMINDERS:
        return None
    cal = sla.office_calendar_of(ticket)
    due = cal.add_working_days(terms.pir_due_at, count) if (cal and count) else terms.pir_due_at
    return count, due


def _pir(ticket, terms, now):
    due = _pir_due(ticket, terms)
    if due is None or due[1] > now:
        return False
    reminder = _reminder(ticket, "pir", terms.pir_due_at)
    recipients = _assignee_or(ticket, [Role.OPS_MANAGER])
    _remind(recipients, ticket, "pir", terms.pir_due_at, reminder.count + 1, now)
    _bump(reminder, now)
    return True


# --- entry points ------------------------------------------------------------------------------


def run(ticket, now, terms=None):
    """Do the reminders that have come due for a (locked) ticket; True if something changed.
    `terms`: the ticket's TicketSla when the caller has it already (the sweep's batch)."""
    with scopes_disabled():
        if terms is None:
            terms = TicketSla.objects.filter(ticket=ticket).first()
        changed = False
        if ticket.is_open:
            changed |= _update_reminders(ticket, now)
            changed |= _follow_up(ticket, terms, now)
        elif ticket.status == Status.RESOLVED:
            changed |= _auto_close(ticket, now)
        if ticket.priority == 1:
            if changed:
                terms = TicketSla.objects.filter(ticket=ticket).first()
            changed |= _pir(ticket, terms, now)
        return changed


def next_check(ticket, now):
    """The next moment a reminder rule needs the sweep (registered with the SLA engine)."""
    with scopes_disabled():
        moments = []
        if ticket.is_open:
            due = _update_reminder_due(ticket)
            if due:
                moments.append(max(due[2], now + timedelta(seconds=1)))
            if needs_registration_escalation(ticket):
                moments.append(now + timedelta(seconds=1))
        elif ticket.status == Status.RESOLVED:
            moments.append(auto_close_at(ticket))
        if ticket.priority == 1 and ticket.kind == Kind.INCIDENT:
            terms = TicketSla.objects.filter(ticket=ticket).first()
            pir = _pir_due(ticket, terms)
            if pir:
                moments.append(max(pir[1], now + timedelta(seconds=1)))
        moments = [m for m in moments if m is not None]
        return min(moments) if moments else None
