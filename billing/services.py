"""Time entries (SPEC §10, seed 004, issue 18 item 1): service desk workers record, correct and
remove them; every write is audited on the ticket. The category decides whether the time is
within the SLA's monthly fee or billed (`models.is_billable`).

An incident's classification is often known only later (the seed): when time on an incident
that was recorded within the SLA becomes billable, its reporter and the organisation's
authorised contacts are told once, with the reason (the escalation outbox, a dedup key per
ticket and billable category).

Every write of an entry re-does its draws from the organisation's hour bundles
(`bundles.redraw`) in the same transaction."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pim import inputs
from pim.models import WORKER_ROLES, User
from pim.permissions import is_customer, is_provider_staff, require_worker
from tickets.models import Kind, Ticket
from tickets.services import record_audit

from . import bundles, notifications
from .models import MINUTES_MAX, MINUTES_MIN, Category, TimeEntry, is_billable
from .months import check_open

DESCRIPTION_MAX = inputs.REASON_MAX
FIELDS = ("user", "worked_on", "minutes", "description", "category")
LATEST_DAY = date(8999, 12, 31)


def entries_for(user):
    """The time entries `user` may read: provider staff all; authorised contacts their
    organisation's billable entries; customer users the billable entries of their own
    tickets (Ticket.objects.visible_to decides which tickets)."""
    qs = TimeEntry.objects.visible_to(user)
    if not is_provider_staff(user):
        qs = qs.filter(billable=True)
    return qs.select_related("ticket", "user", "created_by", "updated_by")


def workers():
    return User.objects.filter(is_active=True, membership__role__in=sorted(WORKER_ROLES))


def _clean(values: dict) -> dict:
    errors = {}
    worker = values.get("user")
    if not isinstance(worker, User) or not workers().filter(pk=worker.pk).exists():
        errors["user"] = _("Time is recorded for a service desk worker.")
    day = values.get("worked_on")
    if not isinstance(day, date) or not (inputs.EARLIEST.date() <= day <= LATEST_DAY):
        errors["worked_on"] = _("Give the day the work was done.")
    minutes = values.get("minutes")
    if (
        not isinstance(minutes, int)
        or isinstance(minutes, bool)
        or not MINUTES_MIN <= minutes <= MINUTES_MAX
    ):
        errors["minutes"] = _("Between %(min)s and %(max)s minutes.") % {
            "min": MINUTES_MIN,
            "max": MINUTES_MAX,
        }
    description = (values.get("description") or "").strip()
    if not description:
        errors["description"] = _("Describe the work.")
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = _("At most %(max)s characters.") % {"max": DESCRIPTION_MAX}
    if values.get("category") not in Category.values:
        errors["category"] = _("Choose one of the categories.")
    if errors:
        raise ValidationError(errors)
    return {**values, "description": description}


def _check_ticket(ticket: Ticket) -> None:
    if ticket.kind == Kind.PROBLEM:
        raise ValidationError(
            {"ticket": _("Time is recorded on incidents, changes and questions.")}
        )


def _display(name, value):
    if name == "user":
        return value.username if value is not None else None
    if isinstance(value, date):
        return value.isoformat()
    if name == "description":
        return value[:80]
    return value


def _incident_had_sla_time(ticket, exclude_pk=None) -> bool:
    """An incident with time recorded within the SLA and none billable yet."""
    entries = TimeEntry.objects.filter(ticket=ticket)
    if exclude_pk is not None:
        entries = entries.exclude(pk=exclude_pk)
    flags = set(entries.values_list("billable", flat=True).distinct())
    return False in flags and True not in flags


@transaction.atomic
def add_entry(ticket: Ticket, actor, values: dict) -> TimeEntry:
    require_worker(actor)
    _check_ticket(ticket)
    values = _clean({name: values.get(name) for name in FIELDS})
    Ticket.objects.select_for_update().filter(pk=ticket.pk).first()  # one writer per ticket
    check_open(ticket.organization_id, values["worked_on"])
    told = ticket.kind == Kind.INCIDENT and _incident_had_sla_time(ticket)
    now = timezone.now()
    entry = TimeEntry(
        ticket=ticket, created_at=now, created_by=actor, updated_at=now, updated_by=actor, **values
    )
    entry.save()
    bundles.redraw(entry, now=now)
    record_audit(
        ticket,
        actor,
        "time_added",
        {n: [None, _display(n, getattr(entry, n))] for n in FIELDS},
        obj=entry,
    )
    if told and entry.billable:
        notifications.became_billable(ticket, entry.category, actor, now)
    return entry


@transaction.atomic
def edit_entry(entry: TimeEntry, actor, values: dict) -> TimeEntry:
    """Change an entry (the fields given; the ticket stays)."""
    require_worker(actor)
    Ticket.objects.select_for_update().filter(pk=entry.ticket_id).first()
    entry = TimeEntry.objects.select_related("ticket", "user").get(pk=entry.pk)
    ticket = entry.ticket
    check_open(ticket.organization_id, entry.worked_on)
    merged = _clean({n: values.get(n, getattr(entry, n)) for n in FIELDS})
    check_open(ticket.organization_id, merged["worked_on"])
    was_billable = entry.billable
    told = (
        ticket.kind == Kind.INCIDENT
        and not was_billable
        and is_billable(merged["category"])
        and _incident_had_sla_time(ticket)
    )
    changes = {
        n: [_display(n, getattr(entry, n)), _display(n, merged[n])]
        for n in FIELDS
        if getattr(entry, n) != merged[n]
    }
    if not changes:
        return entry
    now = timezone.now()
    for name, value in merged.items():
        setattr(entry, name, value)
    entry.updated_at, entry.updated_by = now, actor
    entry.save()
    bundles.redraw(entry, now=now)
    record_audit(ticket, actor, "time_changed", changes, obj=entry)
    if told:
        notifications.became_billable(ticket, entry.category, actor, now)
    return entry


@transaction.atomic
def delete_entry(entry: TimeEntry, actor) -> None:
    require_worker(actor)
    Ticket.objects.select_for_update().filter(pk=entry.ticket_id).first()
    # The audit records the entry as stored, not as the caller last read it.
    entry = TimeEntry.objects.select_related("ticket").get(pk=entry.pk)
    ticket = entry.ticket
    check_open(ticket.organization_id, entry.worked_on)
    record_audit(
        ticket,
        actor,
        "time_deleted",
        {n: [_display(n, getattr(entry, n)), None] for n in ("minutes", "category", "worked_on")},
        obj=entry,
    )
    bundles.redraw(entry, release=True)
    entry.delete()


def check_may_read(entry: TimeEntry, user) -> None:
    """Customers read billable entries only (the others do not exist for them)."""
    if is_customer(user) and not entry.billable:
        raise PermissionDenied(_("You cannot see this time entry."))


def totals(entries) -> dict:
    """Minutes within the SLA and billable, over rows already read."""
    within = sum(e.minutes for e in entries if not e.billable)
    billable = sum(e.minutes for e in entries if e.billable)
    return {"within": within, "billable": billable}
