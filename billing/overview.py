"""The monthly billing overview of an organisation (issue 18 item 4, SPEC §10).

`build(organizations, month)` reads a month for any number of organisations in a constant
number of queries (the accounting export asks for all of them) and returns an `Overview` per
organisation; `overview(organization, month)` is the one-organisation case.

Arithmetic: minutes are the exact quantity. A line's amount is minutes × the hourly rate ÷ 60,
computed with Decimals and rounded half up (away from zero, so a credit mirrors a charge) to
cents once, at the line: a category's time of the month is one line, each correction is one
line. The subtotal is the sum of the rounded lines; the VAT is the subtotal × the VAT rate,
rounded half up to cents; the total is subtotal + VAT. Hours are shown rounded to two places
(for reading only). The month's time is priced at the rates of its year (`YearRate.for_year`);
a correction at the rates of the year its time was worked. All amounts exclude VAT but the
VAT amount and the total.

Hour bundles: billable time written off a prepaid hour bundle is not billed again; the month's
drawn minutes are priced at the month's hourly rate as one line (`bundle_amount`) and taken out
of `time_amount`.

Accepted quotes (the changes app: a quote version approved in the month) are listed with their
fixed price; they are invoiced on their own terms and are not part of the hours' subtotal.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum

from changes.models import ChangeDocument, DocumentKind, DocumentStatus
from pim.months import month_bounds, next_month

from .models import Category, ClosedMonth, Correction, TimeEntry, YearRate, is_billable

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def amount(minutes: int, hourly_rate: Decimal | None) -> Decimal:
    """minutes × rate ÷ 60, rounded half up to cents (exact: Decimals, one rounding)."""
    if hourly_rate is None or not minutes:
        return ZERO
    return cents(Decimal(minutes) * hourly_rate / Decimal(60))


def hours(minutes: int) -> Decimal:
    return cents(Decimal(minutes) / Decimal(60))


@dataclass(frozen=True)
class CategoryLine:
    category: str
    label: str
    billable: bool
    minutes: int
    hours: Decimal
    hourly_rate: Decimal | None  # billable lines only
    amount: Decimal


@dataclass(frozen=True)
class CorrectionLine:
    id: int
    ticket_number: str
    worked_on: date
    minutes: int
    from_category: str
    from_label: str
    to_category: str
    to_label: str
    billable_minutes: int
    hourly_rate: Decimal | None
    amount: Decimal
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class QuoteLine:
    ticket_number: str
    title: str
    version: int
    accepted_at: datetime
    free: bool
    amount: Decimal | None


@dataclass
class Overview:
    organization_id: int
    organization_name: str
    month: date
    closed: bool  # final; otherwise provisional
    closed_at: datetime | None
    closed_by: str | None
    hourly_rate: Decimal | None
    vat_rate: Decimal
    lines: list[CategoryLine] = field(default_factory=list)
    corrections: list[CorrectionLine] = field(default_factory=list)
    quotes: list[QuoteLine] = field(default_factory=list)
    within_minutes: int = 0
    billable_minutes: int = 0
    time_amount: Decimal = ZERO
    corrections_amount: Decimal = ZERO
    subtotal: Decimal = ZERO
    vat_amount: Decimal = ZERO
    total: Decimal = ZERO
    quotes_amount: Decimal = ZERO
    missing_rates: list[int] = field(default_factory=list)
    # The organisation's hour bundles in the month (billing/bundles.py: the draws with their
    # tickets, the minutes drawn, the balance at the month's end; None: no bundle bought by
    # then). The drawn minutes are paid by the bundle: `bundle_amount` (their price at the
    # month's hourly rate, rounded half up once) is taken out of `time_amount`.
    bundles: object = None
    bundle_amount: Decimal = ZERO

    @property
    def within_hours(self):
        return hours(self.within_minutes)

    @property
    def billable_hours(self):
        return hours(self.billable_minutes)

    @property
    def written_off(self):
        """The bundles' line of the hours table, as the downloads write it: the drawn hours
        and their price, negative (None: nothing drawn this month)."""
        if not self.bundles or not self.bundles.drawn_minutes:
            return None
        return {"hours": -hours(self.bundles.drawn_minutes), "amount": -self.bundle_amount}

    @property
    def status(self):
        return "final" if self.closed else "provisional"

    @property
    def empty(self):
        return not (self.lines or self.corrections or self.quotes)


def _rates(up_to_year: int):
    """A function year -> YearRate|None over one query (rates hold until newer ones)."""
    rates = sorted(YearRate.objects.filter(year__lte=up_to_year), key=lambda r: r.year)

    def for_year(year):
        found = None
        for rate in rates:
            if rate.year <= year:
                found = rate
        return found

    return for_year


def build(organizations, month: date) -> list[Overview]:
    """The overviews of `month` for `organizations` (in their order), nine queries in all
    (five, and four for the hour bundles)."""
    organizations = list(organizations)
    ids = [o.pk for o in organizations]
    end_day = next_month(month)
    rate_of = _rates(month.year)
    month_rate = rate_of(month.year)
    closes = {
        c.organization_id: c
        for c in ClosedMonth.objects.filter(organization_id__in=ids, month=month).select_related(
            "closed_by"
        )
    }
    minutes = defaultdict(dict)
    for row in (
        TimeEntry.objects.filter(
            ticket__organization_id__in=ids, worked_on__gte=month, worked_on__lt=end_day
        )
        .values("ticket__organization_id", "category")
        .annotate(minutes=Sum("minutes"))
        .order_by()
    ):
        minutes[row["ticket__organization_id"]][row["category"]] = row["minutes"]
    corrections = defaultdict(list)
    for c in (
        Correction.objects.filter(organization_id__in=ids, month=month)
        .select_related("ticket")
        .order_by("worked_on", "pk")
    ):
        corrections[c.organization_id].append(c)
    start, end = month_bounds(month)
    quotes = defaultdict(list)
    for doc in (
        ChangeDocument.objects.filter(
            change__ticket__organization_id__in=ids,
            kind=DocumentKind.QUOTE,
            status=DocumentStatus.APPROVED,
            decided_at__gte=start,
            decided_at__lt=end,
        )
        .select_related("change__ticket")
        .order_by("decided_at", "pk")
    ):
        quotes[doc.change.ticket.organization_id].append(doc)

    from .bundles import months_draws  # bundles imports nothing of the overview

    bundle_months = months_draws(ids, month)
    result = []
    for org in organizations:
        close = closes.get(org.pk)
        ov = Overview(
            organization_id=org.pk,
            organization_name=org.name,
            month=month,
            closed=close is not None,
            closed_at=close.closed_at if close else None,
            closed_by=close.closed_by.get_full_name() or close.closed_by.username
            if close and close.closed_by
            else None,
            hourly_rate=month_rate.hourly_rate if month_rate else None,
            vat_rate=month_rate.vat_rate if month_rate else Decimal("21.00"),
        )
        missing = set()
        for category in Category:
            spent = minutes[org.pk].get(category.value)
            if not spent:
                continue
            billable = is_billable(category)
            if billable and month_rate is None:
                missing.add(month.year)
            ov.lines.append(
                CategoryLine(
                    category=category.value,
                    label=str(category.label),
                    billable=billable,
                    minutes=spent,
                    hours=hours(spent),
                    hourly_rate=ov.hourly_rate if billable else None,
                    amount=amount(spent, ov.hourly_rate) if billable else ZERO,
                )
            )
            if billable:
                ov.billable_minutes += spent
            else:
                ov.within_minutes += spent
        for c in corrections[org.pk]:
            rate = rate_of(c.worked_on.year)
            if c.billable_minutes and rate is None:
                missing.add(c.worked_on.year)
            hourly = rate.hourly_rate if rate else None
            ov.corrections.append(
                CorrectionLine(
                    id=c.pk,
                    ticket_number=c.ticket.number,
                    worked_on=c.worked_on,
                    minutes=c.minutes,
                    from_category=c.from_category,
                    from_label=str(Category(c.from_category).label),
                    to_category=c.to_category,
                    to_label=str(Category(c.to_category).label),
                    billable_minutes=c.billable_minutes,
                    hourly_rate=hourly,
                    amount=amount(c.billable_minutes, hourly),
                    reason=c.reason,
                    created_at=c.created_at,
                )
            )
        for doc in quotes[org.pk]:
            ov.quotes.append(
                QuoteLine(
                    ticket_number=doc.change.ticket.number,
                    title=doc.change.ticket.title,
                    version=doc.version,
                    accepted_at=doc.decided_at,
                    free=doc.free,
                    amount=None if doc.free else doc.amount,
                )
            )
        ov.bundles = bundle_months.get(org.pk)
        drawn = ov.bundles.drawn_minutes if ov.bundles else 0
        ov.bundle_amount = amount(drawn, ov.hourly_rate)
        ov.time_amount = sum((line.amount for line in ov.lines), ZERO) - ov.bundle_amount
        ov.corrections_amount = sum((line.amount for line in ov.corrections), ZERO)
        ov.subtotal = ov.time_amount + ov.corrections_amount
        ov.vat_amount = cents(ov.subtotal * ov.vat_rate / Decimal(100))
        ov.total = ov.subtotal + ov.vat_amount
        ov.quotes_amount = sum((q.amount for q in ov.quotes if q.amount is not None), ZERO)
        ov.missing_rates = sorted(missing)
        result.append(ov)
    return result


def overview(organization, month: date) -> Overview:
    return build([organization], month)[0]


def missing_rates(organization, month: date) -> list[int]:
    """The years whose rates the month's billable time needs and the admin has not entered."""
    return overview(organization, month).missing_rates


def active_organizations(month: date):
    """The organisations with time, corrections or accepted quotes in `month` (ids)."""
    start, end = month_bounds(month)
    ids = set(
        TimeEntry.objects.filter(worked_on__gte=month, worked_on__lt=next_month(month))
        .values_list("ticket__organization_id", flat=True)
        .distinct()
    )
    ids |= set(Correction.objects.filter(month=month).values_list("organization_id", flat=True))
    ids |= set(
        ChangeDocument.objects.filter(
            kind=DocumentKind.QUOTE,
            status=DocumentStatus.APPROVED,
            decided_at__gte=start,
            decided_at__lt=end,
        ).values_list("change__ticket__organization_id", flat=True)
    )
    return ids
