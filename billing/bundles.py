"""Prepaid hour bundles ("strippenkaart", seed 004, SPEC §10, issue 18 item 3).

Purchase. A provider manager registers a bundle for an organisation (admin or API): at least
BUNDLE_MIN_HOURS hours, a purchase date not in the future, and the bundle rate of the purchase
year copied from `YearRate` (a year without rates is refused). Bundles never expire.

Draws. Billable time under 4 hours on existing solutions is written off the organisation's
oldest bundle with minutes left (split over the next bundle when the oldest runs out); what no
bundle covers is billed monthly. Only bundles bought on or before the day the work was done
count. "Under 4 hours" is judged per job, the ticket: by its estimate when the ticket's change
has one (`estimate_minutes`, the small-change route), else by the ticket's billable total so far
(this entry included). A job of 4 hours or more is no small work (it goes through a quote), so
its entries draw nothing from then on; draws made while it was under 4 hours stay, as they were
shown on the statement (and may be in a closed month) — deliberately, and never taken back. Nor
does a change whose approved quote carries an amount, or one marked as a new application,
draw: quoted work is billed by its quote.

Every write of an entry (add, edit, delete, a category moved to or from billable) re-does that
entry's draws in the entry's transaction, after locking the organisation's bundle rows
(SELECT … FOR UPDATE, oldest first), so two concurrent entries cannot overdraw a bundle.

Recalculation. For bundles bought from RECALCULATE_FROM_YEAR on, 12 months after purchase the
remaining minutes are recalculated at the bundle rate in force then (value kept: minutes × old
rate ÷ new rate, rounded half up to the minute), unless more than 90 % of the bundle was used by
then (draws of work done before that day). Once per bundle: a `Recalculation` row (one per
bundle) records it either way; the daily beat task `billing.tasks.recalculate_bundles` runs
`recalculate_due`, twice is once. A recalculation tells the organisation's authorised contacts
through the outbox (once: the dedup key names the bundle).

Low balance. An authorised contact chooses a threshold in hours; when a draw brings the
organisation's balance below it, its authorised contacts are told once; again only after a
purchase or recalculation brought the balance back to the threshold or above.

For the monthly overview: `month_draws` and `drawn_minutes`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from escalation.outbox import notify_all
from pim.models import Organization, Role, User
from pim.permissions import is_admin, is_manager
from pim.scoping import organization_filter
from sla.documents import add_months

from .models import (
    BUNDLE_MAX_HOURS,
    BUNDLE_MIN_HOURS,
    Bundle,
    BundleAlert,
    Draw,
    Recalculation,
    RecalculationOutcome,
    TimeEntry,
    YearRate,
)

JOB_LIMIT_MINUTES = 4 * 60
RECALCULATE_AFTER_MONTHS = 12
RECALCULATE_FROM_YEAR = 2024
MOSTLY_USED = Decimal("0.9")
NOTE_MAX = 200

LOW_BALANCE = "bundle_low_balance"
RECALCULATED = "bundle_recalculated"


def hours_text(minutes: int) -> str:
    """Minutes as hours and minutes, "12:05" (a negative sign kept)."""
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}:{rest:02d}"


# --- who reads what -------------------------------------------------------------------------


def may_read_bundles(user) -> bool:
    return user.is_authenticated and (user.is_provider_staff or user.is_authorised_contact)


def may_register_bundles(user) -> bool:
    """Provider managers (and the admin) register bundles."""
    return is_manager(user) or is_admin(user)


def bundles_for(user):
    """The bundles `user` may read: provider staff all, an authorised contact their own
    organisation's, anybody else none."""
    qs = Bundle.objects.select_related("organization", "recalculation")
    if not may_read_bundles(user):
        return qs.none()
    return qs.filter(organization_filter(user, "organization"))


def with_balance(qs):
    """Each bundle with `drawn` (minutes) annotated."""
    from django.db.models.functions import Coalesce

    return qs.annotate(drawn=Coalesce(Sum("draws__minutes"), 0))


def contacts_of(organization_id):
    return list(
        User.objects.filter(
            is_active=True,
            membership__organization_id=organization_id,
            membership__role=Role.AUTHORISED_CONTACT,
        ).order_by("pk")
    )


# --- balance ----------------------------------------------------------------------------------


def balance_minutes(organization_id) -> int:
    """The organisation's minutes left over all its bundles."""
    with scopes_disabled():
        bought = Bundle.objects.filter(organization_id=organization_id).aggregate(s=Sum("minutes"))[
            "s"
        ]
        drawn = Draw.objects.filter(organization_id=organization_id).aggregate(s=Sum("minutes"))[
            "s"
        ]
    return (bought or 0) - (drawn or 0)


def _lock_bundles(organization_id):
    """The organisation's bundles, oldest first, locked until the transaction ends (the one
    order every writer takes them in)."""
    with scopes_disabled():
        return list(
            Bundle.objects.select_for_update()
            .filter(organization_id=organization_id)
            .order_by("purchased_on", "pk")
        )


def _rearm(organization_id, balance: int) -> None:
    """After a purchase or recalculation: below the threshold counts as told (a draw tells
    only when it brings the balance below it); at or above it, the next crossing is told."""
    with scopes_disabled():
        alert = BundleAlert.objects.filter(organization_id=organization_id).first()
        if alert is None or alert.threshold_hours is None:
            return
        below = balance < alert.threshold_hours * 60
        if alert.below_notified != below:
            alert.below_notified = below
            alert.save(update_fields=["below_notified"])


def _told_low(organization_id, balance: int, now) -> None:
    """A draw brought the balance to `balance`: tell the contacts once per crossing."""
    with scopes_disabled():
        alert = (
            BundleAlert.objects.select_for_update().filter(organization_id=organization_id).first()
        )
    if alert is None or alert.threshold_hours is None or alert.below_notified:
        return
    if balance >= alert.threshold_hours * 60:
        return
    alert.below_notified = True
    alert.crossings += 1
    alert.save(update_fields=["below_notified", "crossings"])
    notify_all(
        contacts_of(organization_id),
        ticket=None,
        trigger=f"bundle-low:{organization_id}:{alert.crossings}",
        template=LOW_BALANCE,
        context={
            "organization": organization_id,
            "balance_minutes": balance,
            "threshold_hours": alert.threshold_hours,
            "url": reverse("billing-bundles"),
        },
        now=now,
    )


# --- purchase ---------------------------------------------------------------------------------


def purchase_problems(organization, hours, purchased_on, note="", now=None):
    """({field: message}, the YearRate) of a bundle about to be registered."""
    now = now or timezone.now()
    errors = {}
    if not isinstance(hours, int) or isinstance(hours, bool) or hours < BUNDLE_MIN_HOURS:
        errors["hours"] = _("A bundle has at least %(min)s hours.") % {"min": BUNDLE_MIN_HOURS}
    elif hours > BUNDLE_MAX_HOURS:
        errors["hours"] = _("At most %(max)s hours.") % {"max": BUNDLE_MAX_HOURS}
    rate = None
    if not isinstance(purchased_on, date) or purchased_on.year < 2000:
        errors["purchased_on"] = _("Give the day the bundle was bought.")
    elif purchased_on > timezone.localdate(now):
        errors["purchased_on"] = _("The purchase date cannot be in the future.")
    else:
        rate = YearRate.objects.filter(year=purchased_on.year).first()
        if rate is None:
            errors["purchased_on"] = _(
                "No bundle rate is known for %(year)s: the admin enters that year's rates first."
            ) % {"year": purchased_on.year}
    if len((note or "").strip()) > NOTE_MAX:
        errors["note"] = _("At most %(max)s characters.") % {"max": NOTE_MAX}
    if not isinstance(organization, Organization):
        errors["organization"] = _("Choose an organisation.")
    return errors, rate


def purchase(organization, actor, *, hours, purchased_on, note="", now=None) -> Bundle:
    """Register a bundle of `hours` bought on `purchased_on` at that year's bundle rate.
    Raises ValidationError (per field) for too few hours, a future date or a year without
    rates."""
    now = now or timezone.now()
    errors, rate = purchase_problems(organization, hours, purchased_on, note, now)
    if errors:
        raise ValidationError(errors)
    note = (note or "").strip()
    with transaction.atomic():
        _lock_bundles(organization.pk)
        bundle = Bundle.objects.create(
            organization=organization,
            hours=hours,
            purchased_on=purchased_on,
            rate=rate.bundle_rate,
            minutes=hours * 60,
            note=note,
            created_at=now,
            created_by=actor,
        )
        _rearm(organization.pk, balance_minutes(organization.pk))
    return bundle


# --- draws ------------------------------------------------------------------------------------


def job_estimate(ticket) -> int | None:
    """The job's estimate in minutes: the estimate of the ticket's change when it has one."""
    change = _change_of(ticket)
    value = getattr(change, "estimate_minutes", None) if change is not None else None
    if callable(value):
        value = value()
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _change_of(ticket):
    from changes.models import ChangeRequest

    with scopes_disabled():
        return ChangeRequest.objects.filter(ticket_id=ticket.pk).first()


def _quoted(ticket) -> bool:
    """Work billed by a quote: a new application, or a change with an approved paid quote."""
    from changes.models import DocumentKind, DocumentStatus

    change = _change_of(ticket)
    if change is None:
        return False
    if getattr(change, "new_application", False) is True:
        return True
    with scopes_disabled():
        return change.documents.filter(
            kind=DocumentKind.QUOTE, status=DocumentStatus.APPROVED, free=False
        ).exists()


def job_minutes(ticket) -> int:
    """How big the job is judged: its estimate, else its billable total so far."""
    estimate = job_estimate(ticket)
    if estimate is not None:
        return estimate
    with scopes_disabled():
        total = TimeEntry.objects.filter(ticket_id=ticket.pk, billable=True).aggregate(
            s=Sum("minutes")
        )["s"]
    return total or 0


def minutes_to_draw(entry) -> int:
    """What of `entry` a bundle pays: all of it for billable small work, else nothing."""
    if not entry.billable:
        return 0
    if job_minutes(entry.ticket) >= JOB_LIMIT_MINUTES or _quoted(entry.ticket):
        return 0
    return entry.minutes


def redraw(entry, *, release=False, now=None) -> list[Draw]:
    """Re-do `entry`'s draws (after it was added or changed; `release=True` before it is
    removed): its old draws are returned and what it should draw now is taken again, from the
    oldest bundle with minutes left. Returns the new draws."""
    now = now or timezone.now()
    with transaction.atomic():
        organization_id = entry.ticket.organization_id
        bundles = _lock_bundles(organization_id)
        if not bundles:
            return []
        with scopes_disabled():
            drawn = dict(
                Draw.objects.filter(organization_id=organization_id)
                .values("bundle")
                .annotate(s=Sum("minutes"))
                .values_list("bundle", "s")
            )
            old = list(Draw.objects.filter(entry_id=entry.pk))
        before = sum(b.minutes for b in bundles) - sum(drawn.values())
        returned = defaultdict(int)
        for draw in old:
            returned[draw.bundle_id] += draw.minutes
        if old:
            with scopes_disabled():
                Draw.objects.filter(pk__in=[d.pk for d in old]).delete()
        need = 0 if release else minutes_to_draw(entry)
        rows = []
        for bundle in bundles:
            if need <= 0:
                break
            if bundle.purchased_on > entry.worked_on:
                continue
            left = bundle.minutes - drawn.get(bundle.pk, 0) + returned[bundle.pk]
            take = min(max(left, 0), need)
            if take:
                rows.append(
                    Draw(
                        bundle=bundle,
                        entry_id=entry.pk,
                        ticket_id=entry.ticket_id,
                        organization_id=organization_id,
                        worked_on=entry.worked_on,
                        minutes=take,
                        created_at=now,
                    )
                )
                need -= take
        if rows:
            Draw.objects.bulk_create(rows)
        after = before + sum(returned.values()) - sum(r.minutes for r in rows)
        if rows:
            _told_low(organization_id, after, now)
    return rows


# --- recalculation ----------------------------------------------------------------------------


def due_on(bundle) -> date:
    return add_months(bundle.purchased_on, RECALCULATE_AFTER_MONTHS)


def recalculated_minutes(minutes: int, old_rate: Decimal, new_rate: Decimal) -> int:
    """`minutes` at `old_rate` worth the same at `new_rate`, rounded half up to the minute."""
    value = Decimal(minutes) * Decimal(old_rate) / Decimal(new_rate)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def recalculate_due(today=None, now=None) -> list[Recalculation]:
    """Look at every bundle (bought from 2024 on) whose 12 months are over and that was not
    looked at yet; returns the rows written now. Idempotent: a bundle has one row at most."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    with scopes_disabled():
        candidates = list(
            Bundle.objects.filter(
                purchased_on__year__gte=RECALCULATE_FROM_YEAR,
                purchased_on__lte=today - timedelta(days=360),
                recalculation__isnull=True,
            ).values_list("pk", "purchased_on")
        )
    done = []
    for pk, purchased_on in candidates:
        if add_months(purchased_on, RECALCULATE_AFTER_MONTHS) > today:
            continue
        row = _recalculate(pk, now)
        if row is not None:
            done.append(row)
    return done


@transaction.atomic
def _recalculate(pk, now) -> Recalculation | None:
    with scopes_disabled():
        organization_id = Bundle.objects.filter(pk=pk).values_list("organization_id", flat=True)
        organization_id = organization_id.first()
        # The organisation's bundles in the one order every writer locks them (no deadlock
        # with a draw); then this bundle, looked at by nobody else meanwhile.
        locked = {b.pk: b for b in _lock_bundles(organization_id)}
        bundle = locked.get(pk)
        if bundle is None or Recalculation.objects.filter(bundle_id=pk).exists():
            return None
        due = due_on(bundle)
        used = (
            Draw.objects.filter(bundle=bundle, worked_on__lt=due).aggregate(s=Sum("minutes"))["s"]
            or 0
        )
        all_drawn = Draw.objects.filter(bundle=bundle).aggregate(s=Sum("minutes"))["s"] or 0
    remaining = max(bundle.minutes - used, 0)
    row = Recalculation(
        bundle=bundle,
        due_on=due,
        done_at=now,
        used_minutes=used,
        remaining_before=remaining,
        remaining_after=remaining,
        old_rate=bundle.rate,
    )
    if Decimal(used) > MOSTLY_USED * bundle.minutes:
        row.outcome = RecalculationOutcome.MOSTLY_USED
        row.save()
        return row
    rate = YearRate.for_year(due.year)
    if rate is None or rate.bundle_rate <= 0:
        return None  # no rate in force: looked at again tomorrow
    row.outcome = RecalculationOutcome.RECALCULATED
    row.new_rate = rate.bundle_rate
    row.remaining_after = recalculated_minutes(remaining, bundle.rate, rate.bundle_rate)
    row.save()
    # Draws after the due day already took their minutes from what was left.
    bundle.minutes = max(bundle.minutes + row.adjustment, all_drawn)
    bundle.save(update_fields=["minutes"])
    _rearm(bundle.organization_id, balance_minutes(bundle.organization_id))
    notify_all(
        contacts_of(bundle.organization_id),
        ticket=None,
        trigger=f"bundle:{bundle.pk}:recalculated",
        template=RECALCULATED,
        context={
            "bundle": bundle.pk,
            "purchased_on": bundle.purchased_on.isoformat(),
            "before": row.remaining_before,
            "after": row.remaining_after,
            "old_rate": str(row.old_rate),
            "new_rate": str(row.new_rate),
            "url": reverse("billing-bundles"),
        },
        now=now,
    )
    return row


# --- the statement ----------------------------------------------------------------------------


@dataclass
class Line:
    day: date
    kind: str  # purchase | draw | recalculation
    minutes: int  # + into the balance, - out of it
    bundle: Bundle
    draw: Draw | None = None
    recalculation: Recalculation | None = None
    balance: int = 0

    @property
    def minutes_text(self):
        return hours_text(self.minutes)

    @property
    def balance_text(self):
        return hours_text(self.balance)


@dataclass
class Statement:
    organization: Organization
    bundles: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    balance: int = 0
    threshold_hours: int | None = None

    @property
    def balance_text(self):
        return hours_text(self.balance)


KIND_ORDER = {"purchase": 0, "recalculation": 1, "draw": 2}


def statement(organization) -> Statement:
    """Purchases, draws with their tickets, recalculations and the running balance of one
    organisation, in order of date (three queries however long)."""
    with scopes_disabled():
        bundles = list(
            with_balance(
                Bundle.objects.filter(organization=organization).select_related("recalculation")
            ).order_by("purchased_on", "pk")
        )
        draws = list(
            Draw.objects.filter(organization=organization)
            .select_related("ticket", "entry")
            .order_by("worked_on", "pk")
        )
        alert = BundleAlert.objects.filter(organization=organization).first()
    by_pk = {b.pk: b for b in bundles}
    lines = []
    for bundle in bundles:
        bundle.organization = organization  # known: no query per bundle
        bundle.left = bundle.minutes - bundle.drawn
        lines.append(Line(bundle.purchased_on, "purchase", bundle.hours * 60, bundle))
        recalculation = getattr(bundle, "recalculation", None)
        if recalculation is not None:
            lines.append(
                Line(
                    recalculation.due_on,
                    "recalculation",
                    recalculation.adjustment,
                    bundle,
                    recalculation=recalculation,
                )
            )
    for draw in draws:
        lines.append(Line(draw.worked_on, "draw", -draw.minutes, by_pk[draw.bundle_id], draw=draw))
    lines.sort(key=lambda line: (line.day, KIND_ORDER[line.kind], line.bundle.pk))
    balance = 0
    for line in lines:
        balance += line.minutes
        line.balance = balance
    return Statement(
        organization=organization,
        bundles=bundles,
        lines=lines,
        balance=balance,
        threshold_hours=alert.threshold_hours if alert else None,
    )


def set_threshold(organization, actor, hours) -> BundleAlert:
    """The contact's low-balance threshold in hours (None: no notice)."""
    if hours is not None and (
        not isinstance(hours, int) or isinstance(hours, bool) or not 0 <= hours <= BUNDLE_MAX_HOURS
    ):
        raise ValidationError(
            {"threshold_hours": _("Between 0 and %(max)s hours.") % {"max": BUNDLE_MAX_HOURS}}
        )
    with transaction.atomic():
        _lock_bundles(organization.pk)
        with scopes_disabled():
            alert, _created = BundleAlert.objects.get_or_create(organization=organization)
        alert.threshold_hours = hours
        alert.below_notified = hours is not None and balance_minutes(organization.pk) < hours * 60
        alert.updated_at, alert.updated_by = timezone.now(), actor
        alert.save()
    return alert


# --- for the monthly overview -----------------------------------------------------------------


def _month_end(first_day: date) -> date:
    return add_months(first_day.replace(day=1), 1) - timedelta(days=1)


def month_draws(organization, first_day_of_month: date) -> tuple[list[Draw], int]:
    """The draws of work done in the month (with their ticket and bundle) and the balance in
    minutes at the month's end (bundles bought and recalculated by then, less work drawn up to
    then)."""
    first = first_day_of_month.replace(day=1)
    last = _month_end(first)
    with scopes_disabled():
        draws = list(
            Draw.objects.filter(organization=organization, worked_on__range=(first, last))
            .select_related("ticket", "bundle")
            .order_by("worked_on", "pk")
        )
        bought = Bundle.objects.filter(organization=organization, purchased_on__lte=last)
        bought_minutes = bought.aggregate(s=Sum("minutes"))["s"] or 0
        # A recalculation after the month's end changed `minutes` later: take it back out.
        later = Recalculation.objects.filter(bundle__in=bought, due_on__gt=last)
        later_adjustment = sum(r.adjustment for r in later)
        drawn = (
            Draw.objects.filter(organization=organization, worked_on__lte=last).aggregate(
                s=Sum("minutes")
            )["s"]
            or 0
        )
    return draws, bought_minutes - later_adjustment - drawn


def drawn_minutes(entry_ids) -> dict[int, int]:
    """{entry id: minutes drawn from bundles} for the given entries (absent: none)."""
    ids = list(entry_ids)
    if not ids:
        return {}
    with scopes_disabled():
        rows = (
            Draw.objects.filter(entry_id__in=ids)
            .values("entry")
            .annotate(s=Sum("minutes"))
            .values_list("entry", "s")
        )
        return dict(rows)


@dataclass
class BundleMonth:
    """An organisation's bundles in one month, for the overview: the draws of work done in the
    month (with their tickets), their minutes, and the balance at the month's end."""

    draws: list = field(default_factory=list)
    drawn_minutes: int = 0
    balance_minutes: int = 0

    @property
    def drawn_text(self):
        return hours_text(self.drawn_minutes)

    @property
    def balance_text(self):
        return hours_text(self.balance_minutes)


def months_draws(organization_ids, first_day_of_month: date) -> dict[int, BundleMonth]:
    """`month_draws` for many organisations at once, in four queries: {id: BundleMonth} for
    each organisation with a bundle bought by the month's end."""
    ids = list(organization_ids)
    first = first_day_of_month.replace(day=1)
    last = _month_end(first)
    result = {}
    with scopes_disabled():
        for row in (
            Bundle.objects.filter(organization_id__in=ids, purchased_on__lte=last)
            .values("organization")
            .annotate(s=Sum("minutes"))
            .order_by()
        ):
            result[row["organization"]] = BundleMonth(balance_minutes=row["s"] or 0)
        for r in Recalculation.objects.filter(
            bundle__organization_id__in=ids, bundle__purchased_on__lte=last, due_on__gt=last
        ).select_related("bundle"):
            result[r.bundle.organization_id].balance_minutes -= r.adjustment
        for row in (
            Draw.objects.filter(organization_id__in=ids, worked_on__lte=last)
            .values("organization")
            .annotate(s=Sum("minutes"))
            .order_by()
        ):
            if row["organization"] in result:
                result[row["organization"]].balance_minutes -= row["s"] or 0
        for draw in (
            Draw.objects.filter(organization_id__in=ids, worked_on__range=(first, last))
            .select_related("ticket")
            .order_by("worked_on", "pk")
        ):
            month = result.setdefault(draw.organization_id, BundleMonth())
            month.draws.append(draw)
            month.drawn_minutes += draw.minutes
    return result
