"""Closing a billing month (issue 18 items 1 and 4).

A provider manager closes a past calendar month per organisation. From then on the time entries
worked in that month (the Europe/Amsterdam calendar month of `worked_on`, a local date) are
frozen: adding, changing or removing one answers 409 (`MonthClosed`), and the month's overview
is final. An incident reclassified afterwards (`reclassify`) changes the entries of open months
as any edit does (audited, the customer told), and leaves the frozen ones as they were billed: a
`Correction` in the next open month of the organisation moves their minutes to the new
category, shown in that month's overview."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from pim import inputs
from pim.exceptions import IllegalStateChange
from pim.models import Organization
from pim.months import month_of, next_month
from pim.permissions import is_manager, require, require_worker
from tickets.models import Kind, Ticket
from tickets.services import record_audit

from . import notifications
from .models import Category, ClosedMonth, Correction, TimeEntry, is_billable

# The categories that say what caused an incident: a reclassification moves between them.
INCIDENT_CAUSES = (
    Category.INCIDENT_PROVIDER,
    Category.INCIDENT_THIRD_PARTY,
    Category.INCIDENT_GENERAL_DEVELOPMENT,
    Category.INCIDENT_HOURLY_WORK,
    Category.INCIDENT_OLD_QUOTE,
)
REASON_MAX = inputs.REASON_MAX


class MonthClosed(IllegalStateChange):
    """The month is closed for billing (API: 409)."""


def month_label(month: date) -> str:
    return date_format(month, "F Y")


def is_closed(organization_id, month: date) -> bool:
    return ClosedMonth.objects.filter(organization_id=organization_id, month=month).exists()


def check_open(organization_id, day: date) -> None:
    """Refuse a write of time worked on `day` when its month is closed. Inside the write's
    transaction: the organisation's row is locked, as `close_month` locks it, so a close and
    a write of the same organisation never pass each other."""
    Organization.objects.select_for_update().filter(pk=organization_id).first()
    month = month_of(day)
    if is_closed(organization_id, month):
        raise MonthClosed(
            _(
                "%(month)s is closed for billing: its time entries are frozen. A new "
                "classification of the ticket's time becomes a correction in the next open month."
            )
            % {"month": month_label(month)}
        )


def next_open_month(organization_id, after: date) -> date:
    """The first month after `after`'s that the organisation has not closed."""
    closed = set(
        ClosedMonth.objects.filter(organization_id=organization_id, month__gt=after).values_list(
            "month", flat=True
        )
    )
    month = next_month(month_of(after))
    while month in closed:
        month = next_month(month)
    return month


def check_may_close(user) -> None:
    require(is_manager(user), _("Only provider managers close a billing month."))


@transaction.atomic
def close_month(organization: Organization, month: date, actor, now=None) -> ClosedMonth:
    """Close `month` (its first day) for `organization`: only a month that has ended, once."""
    check_may_close(actor)
    now = now or timezone.now()
    month = month_of(month)
    if month >= month_of(timezone.localdate(now)):
        raise MonthClosed(_("Only a month that has ended can be closed."))
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    if is_closed(organization.pk, month):
        raise MonthClosed(
            _("%(month)s is already closed for %(organization)s.")
            % {"month": month_label(month), "organization": organization.name}
        )
    from .overview import missing_rates  # the overview prices; here only its check

    years = missing_rates(organization, month)
    if years:
        raise MonthClosed(
            _("Enter the rates of %(years)s in the admin before closing this month.")
            % {"years": ", ".join(str(y) for y in years)}
        )
    try:
        with transaction.atomic():
            return ClosedMonth.objects.create(
                organization=organization, month=month, closed_at=now, closed_by=actor
            )
    except IntegrityError as exc:  # a concurrent close of the same month
        raise MonthClosed(_("This month is already closed.")) from exc


def _clean_reclassification(ticket, category, reason):
    errors = {}
    if ticket.kind != Kind.INCIDENT:
        errors["ticket"] = _("Only an incident's cause is reclassified.")
    if category not in INCIDENT_CAUSES:
        errors["category"] = _("Choose the incident's cause.")
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _("Say why the incident is reclassified.")
    elif len(reason) > REASON_MAX:
        errors["reason"] = _("At most %(max)s characters.") % {"max": REASON_MAX}
    if errors:
        raise ValidationError(errors)
    return reason


@transaction.atomic
def reclassify(ticket: Ticket, actor, category, reason) -> dict:
    """The incident's cause turned out to be `category` (seed 004: often known only later).
    Its entries with another cause change: those of open months as an edit (audited; the
    customer is told when the time becomes billable), those of closed months stay frozen and
    get a correction line each in the next open month (audited on the ticket)."""
    from . import services  # services imports this module for its freeze check

    require_worker(actor)
    reason = _clean_reclassification(ticket, category, reason)
    Ticket.objects.select_for_update().filter(pk=ticket.pk).first()
    entries = list(
        TimeEntry.objects.filter(ticket=ticket, category__in=INCIDENT_CAUSES).order_by(
            "worked_on", "pk"
        )
    )
    closed = set(
        ClosedMonth.objects.filter(organization_id=ticket.organization_id).values_list(
            "month", flat=True
        )
    )
    # A frozen entry counts as its latest correction says (a second reclassification moves on
    # from there, and back again credits what was charged).
    corrected = dict(
        Correction.objects.filter(ticket=ticket, entry__isnull=False)
        .order_by("created_at", "pk")
        .values_list("entry_id", "to_category")
    )
    now = timezone.now()
    edited, corrections = [], []
    for entry in entries:
        if month_of(entry.worked_on) not in closed:
            if entry.category != category:
                edited.append(services.edit_entry(entry, actor, {"category": category}))
            continue
        current = corrected.get(entry.pk, entry.category)
        if current == category:
            continue
        was, becomes = is_billable(current), is_billable(category)
        correction = Correction.objects.create(
            organization_id=ticket.organization_id,
            month=next_open_month(ticket.organization_id, entry.worked_on),
            ticket=ticket,
            entry=entry,
            worked_on=entry.worked_on,
            minutes=entry.minutes,
            from_category=current,
            to_category=category,
            billable_minutes=entry.minutes * (int(becomes) - int(was)),
            reason=reason,
            created_at=now,
            created_by=actor,
        )
        corrections.append(correction)
        record_audit(
            ticket,
            actor,
            "time_corrected",
            {
                "category": [current, category],
                "minutes": [entry.minutes, entry.minutes],
                "worked_on": [entry.worked_on.isoformat(), correction.month.isoformat()],
            },
            obj=entry,
        )
        if becomes and not was:
            notifications.became_billable(ticket, correction.to_category, actor, now)
    return {"edited": edited, "corrections": corrections}
