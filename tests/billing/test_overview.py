"""The monthly billing overview (issue 18 item 4): exact decimal arithmetic over several
categories, a rate change between years, corrections, accepted quotes, final or provisional;
its CSV and PDF; the accounting export; constant queries."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time

from billing import exports, months, overview
from billing.models import Category, YearRate
from changes.models import ChangeDocument, ChangeRequest

pytestmark = pytest.mark.django_db

MARCH = dt.date(2026, 3, 1)


def approved_quote(ticket, amount, decided_at, free=False, status="approved", kind="quote"):
    change, _ = ChangeRequest.objects.get_or_create(ticket=ticket)
    version = change.documents.count() + 1
    return ChangeDocument.objects.create(
        change=change, kind=kind, version=version, status=status, amount=amount, free=free,
        created_at=decided_at, decided_at=decided_at,
    )  # fmt: skip


def test_amounts_are_exact_decimals_rounded_half_up_per_line(acme, make_ticket, add_time, rates):
    ticket = make_ticket()
    # 2026: 102.50 an hour. Consultancy 50 min = 85.41666… → 85.42; training 7 min = 11.958… →
    # 11.96; change 1 + 2 min = 3 min = 5.125 → 5.13 (half up, one rounding per line).
    add_time(ticket, "2026-03-02", 30, Category.CONSULTANCY)
    add_time(ticket, "2026-03-31", 20, Category.CONSULTANCY)
    add_time(ticket, "2026-03-10", 7, Category.TRAINING)
    add_time(ticket, "2026-03-11", 1, Category.CHANGE)
    add_time(ticket, "2026-03-12", 2, Category.CHANGE)
    add_time(ticket, "2026-03-13", 90, Category.INCIDENT_PROVIDER)
    add_time(ticket, "2026-03-14", 15, Category.INTAKE_ADMIN)
    add_time(ticket, "2026-02-28", 600, Category.CONSULTANCY)  # another month
    add_time(ticket, "2026-04-01", 600, Category.CONSULTANCY)
    ov = overview.overview(acme, MARCH)
    lines = {line.category: line for line in ov.lines}
    assert list(lines) == [
        "incident_provider", "intake_admin", "change", "consultancy", "training",
    ]  # fmt: skip
    assert (lines["consultancy"].minutes, lines["consultancy"].amount) == (50, Decimal("85.42"))
    assert lines["consultancy"].hours == Decimal("0.83")
    assert lines["training"].amount == Decimal("11.96")
    assert lines["change"].amount == Decimal("5.13")
    assert lines["incident_provider"].amount == Decimal("0.00")
    assert lines["incident_provider"].hourly_rate is None
    assert lines["consultancy"].hourly_rate == Decimal("102.50")
    assert (ov.within_minutes, ov.billable_minutes) == (105, 60)
    assert ov.within_hours == Decimal("1.75") and ov.billable_hours == Decimal("1.00")
    assert ov.subtotal == Decimal("102.51")  # 85.42 + 11.96 + 5.13, not 102.50 (60 min)
    assert ov.vat_rate == Decimal("21.00")
    assert ov.vat_amount == Decimal("21.53")  # 21.5271 → 21.53
    assert ov.total == Decimal("124.04")
    assert all(isinstance(v, Decimal) for v in (ov.subtotal, ov.vat_amount, ov.total))
    assert not ov.closed and ov.status == "provisional" and ov.missing_rates == []


def test_each_year_has_its_rate(acme, make_ticket, add_time, rates):
    ticket = make_ticket()
    add_time(ticket, "2025-12-31", 60, Category.CONSULTANCY)
    add_time(ticket, "2026-01-01", 60, Category.CONSULTANCY)
    december = overview.overview(acme, dt.date(2025, 12, 1))
    january = overview.overview(acme, dt.date(2026, 1, 1))
    assert (december.hourly_rate, december.subtotal) == (Decimal("95.00"), Decimal("95.00"))
    assert (january.hourly_rate, january.subtotal) == (Decimal("102.50"), Decimal("102.50"))
    YearRate.objects.filter(year=2026).update(vat_rate="9.00")
    january = overview.overview(acme, dt.date(2026, 1, 1))
    assert (january.vat_amount, january.total) == (Decimal("9.23"), Decimal("111.73"))


def test_without_rates_the_years_are_named(acme, make_ticket, add_time):
    add_time(make_ticket(), "2026-03-02", 60, Category.CONSULTANCY)
    ov = overview.overview(acme, MARCH)
    assert ov.missing_rates == [2026] and ov.subtotal == Decimal("0.00")


def test_corrections_are_priced_at_the_year_the_time_was_worked(
    users, acme, make_ticket, add_time, rates
):
    ticket = make_ticket()
    add_time(ticket, "2025-12-15", 45, Category.INCIDENT_PROVIDER)
    add_time(ticket, "2026-01-05", 30, Category.CONSULTANCY)
    with freeze_time("2026-01-10 10:00:00+01:00"):
        months.close_month(acme, dt.date(2025, 12, 1), users["csm"])
        months.reclassify(ticket, users["agent"], Category.INCIDENT_THIRD_PARTY, "Carrier")
    december = overview.overview(acme, dt.date(2025, 12, 1))
    assert december.closed and december.status == "final" and december.closed_by == "csm"
    assert december.subtotal == Decimal("0.00") and december.corrections == []
    january = overview.overview(acme, dt.date(2026, 1, 1))
    (line,) = january.corrections
    assert (line.ticket_number, line.billable_minutes) == (ticket.number, 45)
    assert line.hourly_rate == Decimal("95.00") and line.amount == Decimal("71.25")  # 2025 rate
    assert january.time_amount == Decimal("51.25")  # 30 min at 102.50
    assert january.corrections_amount == Decimal("71.25")
    assert january.subtotal == Decimal("122.50")
    assert january.total == Decimal("148.23")  # 122.50 + 25.725 → 25.73


def test_quotes_accepted_in_the_month(acme, globex, users, make_ticket, rates):
    change = make_ticket("acme.contact", kind="change", title="New hunt group")
    other = make_ticket("acme.contact", kind="change", title="Free tweak")
    globex_change = make_ticket("globex.contact", kind="change", title="Globex change")
    ams = timezone.get_current_timezone()
    approved_quote(change, Decimal("1250.00"), dt.datetime(2026, 3, 31, 23, 30, tzinfo=ams))
    approved_quote(other, None, dt.datetime(2026, 3, 1, 0, 0, tzinfo=ams), free=True)
    approved_quote(other, Decimal("9.00"), dt.datetime(2026, 4, 1, 0, 0, tzinfo=ams))  # April
    approved_quote(other, Decimal("8.00"), dt.datetime(2026, 3, 5, tzinfo=ams), status="sent")
    approved_quote(other, Decimal("7.00"), dt.datetime(2026, 3, 5, tzinfo=ams), kind="rfc")
    approved_quote(globex_change, Decimal("5.00"), dt.datetime(2026, 3, 5, tzinfo=ams))
    ov = overview.overview(acme, MARCH)
    assert [(q.ticket_number, q.free, q.amount) for q in ov.quotes] == [
        (other.number, True, None),
        (change.number, False, Decimal("1250.00")),
    ]
    assert ov.quotes_amount == Decimal("1250.00")
    assert ov.subtotal == Decimal("0.00")  # quotes are invoiced on their own terms


def test_build_reads_any_number_of_organisations_in_constant_queries(
    users, acme, globex, make_ticket, add_time, rates, django_assert_num_queries
):
    add_time(make_ticket(), "2026-03-02", 30, Category.CONSULTANCY)
    with django_assert_num_queries(9):  # five, and four for the hour bundles
        overview.build([acme], MARCH)
    add_time(make_ticket("globex.user"), "2026-03-03", 30, Category.TRAINING)
    with django_assert_num_queries(9):  # five, and four for the hour bundles
        both = overview.build([acme, globex], MARCH)
    assert [ov.subtotal for ov in both] == [Decimal("51.25"), Decimal("51.25")]


# --- the downloads --------------------------------------------------------------------------


@pytest.fixture
def march(users, acme, make_ticket, add_time, rates):
    ticket = make_ticket()
    add_time(ticket, "2026-03-02", 50, Category.CONSULTANCY)
    add_time(ticket, "2026-03-03", 20, Category.INCIDENT_PROVIDER)
    return overview.overview(acme, MARCH)


def test_overview_csv(march):
    rows = list(csv.DictReader(io.StringIO(exports.overview_csv(march))))
    assert [r["line"] for r in rows] == ["time", "time", "subtotal", "vat", "total"]
    consultancy = rows[1]
    assert consultancy["category"] == "consultancy" and consultancy["month"] == "2026-03-01"
    assert (consultancy["minutes"], consultancy["hours"]) == ("50", "0.83")
    assert (consultancy["hourly_rate"], consultancy["amount_excl_vat"]) == ("102.50", "85.42")
    assert rows[0]["billable"] == "false" and rows[0]["amount_excl_vat"] == "0.00"
    assert rows[-1]["amount_excl_vat"] == "103.36"  # 85.42 + 17.94
    assert consultancy["status"] == "provisional"


def test_overview_pdf(march):
    body = exports.overview_pdf(march, "March 2026")
    assert body.startswith(b"%PDF")
    assert b"103.36" in body and b"Acme Zorg" in body and b"85.42" in body


def test_accounting_csv_has_one_row_per_organisation_and_line(
    users, acme, globex, make_ticket, add_time, rates
):
    add_time(make_ticket(), "2026-03-02", 60, Category.TRAINING)
    add_time(make_ticket("globex.user"), "2026-03-05", 90, Category.CHANGE)
    with freeze_time("2026-04-02 10:00:00+02:00"):
        months.close_month(globex, MARCH, users["director"])
    text = exports.accounting_csv(overview.build([acme, globex], MARCH))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == exports.ACCOUNTING_COLUMNS
    assert [
        (r["organization"], r["category"], r["amount_excl_vat"], r["status"]) for r in rows
    ] == [
        ("Acme Zorg", "training", "102.50", "provisional"),
        ("Globex Logistics", "change", "153.75", "final"),
    ]
    assert rows[1]["hours"] == "1.50" and rows[1]["vat_rate"] == "21.00"
