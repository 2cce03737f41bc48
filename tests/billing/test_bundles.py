"""Prepaid hour bundles (issue 18 item 3): purchase rules, the draw order and split, the per-job
4-hour rule, draws re-done on every change of an entry, the recalculation 12 months after
purchase (89 % / 91 % used, 2023 / 2024, run twice), the low-balance notice once per crossing,
the statement page and API with tenant isolation and bounded queries, and what the monthly
overview reads (month_draws, drawn_minutes)."""

import csv
import datetime as dt
import io
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client
from django_scopes import scopes_disabled
from freezegun import freeze_time

from billing import bundles, services
from billing.models import (
    Bundle,
    BundleAlert,
    Category,
    Draw,
    Recalculation,
    RecalculationOutcome,
    YearRate,
)
from billing.tasks import recalculate_bundles
from escalation.models import Channel, Notification

pytestmark = pytest.mark.django_db

URL = "/api/v1/bundles/"
PAGE = "/billing/bundles/"
BILLABLE = Category.INCIDENT_THIRD_PARTY


@pytest.fixture
def rates(db):
    YearRate.objects.create(year=2023, hourly_rate="90.00", bundle_rate="80.00")
    YearRate.objects.create(year=2024, hourly_rate="95.00", bundle_rate="80.00")
    YearRate.objects.create(year=2025, hourly_rate="100.00", bundle_rate="100.00")
    YearRate.objects.create(year=2026, hourly_rate="105.00", bundle_rate="100.00")


def buy(org, users, hours=50, day=dt.date(2026, 1, 5), **kwargs):
    return bundles.purchase(org, users["csm"], hours=hours, purchased_on=day, **kwargs)


def work(ticket, users, minutes, day=dt.date(2026, 3, 2), category=BILLABLE):
    return services.add_entry(
        ticket,
        users["agent"],
        {
            "user": users["agent"],
            "worked_on": day,
            "minutes": minutes,
            "description": "Fixed the export",
            "category": category,
        },
    )


def draws_of(entry):
    return sorted((d.bundle_id, d.minutes) for d in Draw.objects.filter(entry=entry))


def left(bundle):
    bundle.refresh_from_db()
    return bundle.minutes - sum(d.minutes for d in Draw.objects.filter(bundle=bundle))


def drain(org, users, make_ticket, minutes, day=dt.date(2026, 3, 2)):
    """Draw `minutes` through real entries, at most 200 minutes per job (under 4 hours)."""
    reporter = "acme.user" if org.slug == "acme" else "globex.user"
    while minutes > 0:
        chunk = min(200, minutes)
        work(make_ticket(reporter, title="Small job"), users, chunk, day=day)
        minutes -= chunk


def told(template):
    return Notification.objects.filter(template=template, channel=Channel.IN_APP)


# --- purchase ---------------------------------------------------------------------------------


def test_purchase_copies_the_years_bundle_rate_and_refuses_bad_input(users, acme, rates):
    bundle = buy(acme, users, hours=60, day=dt.date(2024, 6, 1))
    assert bundle.rate == Decimal("80.00") and bundle.minutes == 3600
    YearRate.objects.filter(year=2024).update(bundle_rate="99.00")
    bundle.refresh_from_db()
    assert bundle.rate == Decimal("80.00")  # copied, not linked

    with pytest.raises(ValidationError) as exc:
        buy(acme, users, hours=49)
    assert "50" in exc.value.message_dict["hours"][0]
    with pytest.raises(ValidationError) as exc:
        buy(acme, users, day=dt.date(2022, 3, 1))  # no rates for 2022 (2023's do not count)
    assert "2022" in exc.value.message_dict["purchased_on"][0]
    with freeze_time("2026-05-01 10:00"), pytest.raises(ValidationError) as exc:
        buy(acme, users, day=dt.date(2026, 5, 2))
    assert exc.value.message_dict["purchased_on"]
    assert Bundle.objects.count() == 1


def test_api_purchase_by_managers_only(users, api, acme, rates):
    body = {"organization": acme.pk, "hours": 50, "purchased_on": "2026-01-05"}
    for name in ("acme.user", "acme.contact", "agent"):
        assert api(users[name]).post(URL, body, format="json").status_code == 403
    response = api(users["csm"]).post(URL, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["rate"] == "100.00" and data["balance_minutes"] == 3000
    assert data["organization"] == acme.pk
    bad = api(users["csm"]).post(URL, {**body, "hours": 49}, format="json")
    assert bad.status_code == 400 and "hours" in bad.json()
    no_rate = api(users["csm"]).post(URL, {**body, "purchased_on": "2021-01-05"}, format="json")
    assert no_rate.status_code == 400 and "purchased_on" in no_rate.json()
    nobody = api(users["csm"]).post(URL, {**body, "organization": 999999}, format="json")
    assert nobody.status_code == 400
    assert Bundle.objects.count() == 1


# --- draws ------------------------------------------------------------------------------------


def test_draws_take_from_the_oldest_bundle_and_split_over_the_next(users, acme, make_ticket, rates):
    newer = buy(acme, users, day=dt.date(2026, 2, 1))
    older = buy(acme, users, day=dt.date(2026, 1, 5))
    first = work(make_ticket(), users, 120)
    assert draws_of(first) == [(older.pk, 120)]
    drain(acme, users, make_ticket, 3000 - 120 - 30)  # 30 minutes left on the older bundle
    assert left(older) == 30
    split = work(make_ticket(), users, 100)
    assert dict(draws_of(split)) == {older.pk: 30, newer.pk: 70}
    assert left(older) == 0 and left(newer) == 2930


def test_time_within_the_sla_and_work_before_the_purchase_draw_nothing(
    users, acme, make_ticket, rates
):
    buy(acme, users, day=dt.date(2026, 3, 1))
    within = work(make_ticket(), users, 60, category=Category.INCIDENT_PROVIDER)
    before = work(make_ticket(), users, 60, day=dt.date(2026, 2, 27))
    assert draws_of(within) == [] and draws_of(before) == []
    with scopes_disabled():
        assert bundles.balance_minutes(acme.pk) == 3000


def test_no_bundle_means_billed_monthly(users, acme, make_ticket):
    entry = work(make_ticket(), users, 60)
    assert draws_of(entry) == []
    assert bundles.drawn_minutes([entry.pk]) == {}


def test_a_job_of_four_hours_stops_drawing_and_earlier_draws_stay(users, acme, make_ticket, rates):
    bundle = buy(acme, users)
    ticket = make_ticket()
    first = work(ticket, users, 200)
    assert draws_of(first) == [(bundle.pk, 200)]
    second = work(ticket, users, 39)  # 239 minutes: still under 4 hours
    assert draws_of(second) == [(bundle.pk, 39)]
    third = work(ticket, users, 1)  # 240: the job is 4 hours
    assert draws_of(third) == []
    fourth = work(ticket, users, 30)
    assert draws_of(fourth) == []
    assert draws_of(first) == [(bundle.pk, 200)] and draws_of(second) == [(bundle.pk, 39)]
    assert left(bundle) == 3000 - 239


def test_a_change_with_an_approved_paid_quote_draws_nothing(users, acme, make_ticket, rates):
    from changes.models import ChangeDocument, ChangeRequest, DocumentKind, DocumentStatus
    from tickets.models import Kind

    buy(acme, users)
    ticket = make_ticket("agent", organization=acme, kind=Kind.CHANGE, priority=5)
    change = ChangeRequest.objects.get(ticket=ticket)
    quote = ChangeDocument.objects.create(
        change=change,
        kind=DocumentKind.QUOTE,
        version=1,
        status=DocumentStatus.APPROVED,
        amount=Decimal("500.00"),
        free=False,
        created_at=ticket.reported_at,
    )
    entry = work(ticket, users, 60, category=Category.CHANGE)
    assert draws_of(entry) == []
    quote.free, quote.amount = True, None
    quote.save()
    services.edit_entry(entry, users["agent"], {"minutes": 61})
    assert draws_of(entry) != []


def test_every_change_of_an_entry_redoes_its_draws(users, acme, make_ticket, rates):
    bundle = buy(acme, users)
    entry = work(make_ticket(), users, 60)
    assert draws_of(entry) == [(bundle.pk, 60)]
    services.edit_entry(entry, users["agent"], {"minutes": 90})
    assert draws_of(entry) == [(bundle.pk, 90)]
    services.edit_entry(entry, users["agent"], {"category": Category.INTAKE_ADMIN})
    assert draws_of(entry) == []
    assert left(bundle) == 3000
    services.edit_entry(entry, users["agent"], {"category": Category.CONSULTANCY})
    assert draws_of(entry) == [(bundle.pk, 90)]
    services.edit_entry(entry, users["agent"], {"worked_on": dt.date(2025, 12, 1)})
    assert draws_of(entry) == []  # before the bundle was bought
    services.edit_entry(entry, users["agent"], {"worked_on": dt.date(2026, 3, 3)})
    assert draws_of(entry) == [(bundle.pk, 90)]
    services.delete_entry(entry, users["agent"])
    assert Draw.objects.count() == 0 and left(bundle) == 3000


def test_api_edit_and_delete_of_a_time_entry_redo_the_draws(users, api, acme, make_ticket, rates):
    bundle = buy(acme, users)
    ticket = make_ticket()
    client = api(users["agent"])
    created = client.post(
        "/api/v1/time-entries/",
        {
            "ticket": ticket.pk,
            "worked_on": "2026-03-02",
            "minutes": 45,
            "description": "Export fixed",
            "category": "consultancy",
        },
        format="json",
    )
    assert created.status_code == 201
    entry_id = created.json()["id"]
    assert bundles.drawn_minutes([entry_id]) == {entry_id: 45}
    client.patch(f"/api/v1/time-entries/{entry_id}/", {"minutes": 50}, format="json")
    assert bundles.drawn_minutes([entry_id]) == {entry_id: 50}
    assert client.delete(f"/api/v1/time-entries/{entry_id}/").status_code == 204
    assert left(bundle) == 3000


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
# serialized_rollback: its flush then leaves the tables empty, as the browser tests' serialized
# rollback expects (a plain transactional test's flush re-creates the content types under new ids)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_entries_cannot_overdraw_a_bundle(users, acme, make_ticket, rates):
    bundle = buy(acme, users)
    drain(acme, users, make_ticket, 3000 - 100)  # 100 minutes left
    tickets = [make_ticket(title=f"Race {i}") for i in range(6)]
    barrier = threading.Barrier(len(tickets))
    errors = []

    def race(ticket):
        try:
            with scopes_disabled():
                barrier.wait(timeout=30)
                work(ticket, users, 40)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=race, args=(t,)) for t in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert left(bundle) == 0  # 40 + 40 + 20: never below zero
    raced = Draw.objects.filter(ticket__in=tickets)
    assert sorted(d.minutes for d in raced) == [20, 40, 40]


# --- recalculation ----------------------------------------------------------------------------


def recalculation_case(users, acme, make_ticket, purchased, used):
    bundle = buy(acme, users, day=purchased)
    drain(acme, users, make_ticket, used, day=purchased + dt.timedelta(days=30))
    return bundle


@pytest.mark.parametrize(
    ("purchased", "used", "outcome", "after"),
    [
        # 2024: 89 % used → the remaining 330 minutes at 80.00 keep their value at 100.00: 264
        (dt.date(2024, 3, 15), 2670, RecalculationOutcome.RECALCULATED, 264),
        # exactly 90 % is not "more than 90 %": 300 minutes → 240
        (dt.date(2024, 3, 15), 2700, RecalculationOutcome.RECALCULATED, 240),
        # 91 % used: no recalculation
        (dt.date(2024, 3, 15), 2730, RecalculationOutcome.MOSTLY_USED, 270),
    ],
)
def test_recalculation_after_twelve_months(
    users, acme, make_ticket, rates, purchased, used, outcome, after
):
    bundle = recalculation_case(users, acme, make_ticket, purchased, used)
    with freeze_time("2025-03-14 12:00"):  # one day early
        assert recalculate_bundles() == {"bundles": 0}
    with freeze_time("2025-03-15 12:00"):
        assert recalculate_bundles() == {"bundles": 1}
        assert recalculate_bundles() == {"bundles": 0}  # twice is once
    row = Recalculation.objects.get(bundle=bundle)
    assert row.outcome == outcome and row.remaining_after == after
    assert left(bundle) == after
    notices = told(bundles.RECALCULATED)
    if outcome == RecalculationOutcome.RECALCULATED:
        assert row.old_rate == Decimal("80.00") and row.new_rate == Decimal("100.00")
        assert [n.recipient.username for n in notices] == ["acme.contact"]
        assert Notification.objects.filter(template=bundles.RECALCULATED).count() == 2  # + e-mail
    else:
        assert not notices.exists()
    with freeze_time("2026-06-01 12:00"):
        assert recalculate_bundles() == {"bundles": 0}
    assert Recalculation.objects.count() == 1


def test_beat_runs_the_recalculation_daily():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["billing-recalculate-bundles"]
    assert entry["task"] == recalculate_bundles.name


def test_bundles_of_2023_are_never_recalculated(users, acme, make_ticket, rates):
    bundle = recalculation_case(users, acme, make_ticket, dt.date(2023, 11, 1), 200)
    for day in ("2024-11-01", "2025-11-02", "2026-11-01"):
        with freeze_time(f"{day} 12:00"):
            assert bundles.recalculate_due() == []
    assert not Recalculation.objects.exists() and left(bundle) == 2800


def test_recalculation_rounds_half_up_to_the_minute_and_leap_days_clamp():
    assert bundles.recalculated_minutes(1000, Decimal("85.00"), Decimal("92.25")) == 921
    assert bundles.recalculated_minutes(1, Decimal("1.50"), Decimal("1.00")) == 2  # 1.5 → 2
    assert bundles.recalculated_minutes(3, Decimal("1.00"), Decimal("2.00")) == 2  # 1.5 → 2

    class B:
        purchased_on = dt.date(2024, 2, 29)

    assert bundles.due_on(B) == dt.date(2025, 2, 28)


# --- low balance ------------------------------------------------------------------------------


def test_low_balance_told_once_per_crossing(users, acme, make_ticket, rates):
    bundles.set_threshold(acme, users["acme.contact"], 10)
    buy(acme, users)
    drain(acme, users, make_ticket, 2400)  # 600 minutes left: the threshold
    assert not told(bundles.LOW_BALANCE).exists()
    work(make_ticket(), users, 1)  # 599: below
    assert told(bundles.LOW_BALANCE).count() == 1
    work(make_ticket(), users, 100)  # still below: not again
    entry = work(make_ticket(), users, 100)
    services.delete_entry(entry, users["agent"])  # up, but not by a purchase
    work(make_ticket(), users, 50)
    assert told(bundles.LOW_BALANCE).count() == 1
    buy(acme, users, day=dt.date(2026, 3, 1))  # back above
    assert not BundleAlert.objects.get(organization=acme).below_notified
    drain(acme, users, make_ticket, 3449 - 599)  # 449 left on the first, 3000 on the second
    notices = told(bundles.LOW_BALANCE)
    assert notices.count() == 2
    assert {n.recipient.username for n in notices} == {"acme.contact"}
    assert notices.first().context["url"] == PAGE


def test_no_threshold_no_notice_and_the_threshold_is_validated(users, acme, make_ticket, rates):
    buy(acme, users)
    drain(acme, users, make_ticket, 2990)
    assert not told(bundles.LOW_BALANCE).exists()
    with pytest.raises(ValidationError):
        bundles.set_threshold(acme, users["acme.contact"], -1)


# --- statement page and API -------------------------------------------------------------------


@pytest.fixture
def two_orgs(users, acme, globex, make_ticket, rates):
    acme_bundle = buy(acme, users, note="Acme strippenkaart")
    entry = work(make_ticket(title="Acme export broken"), users, 75)
    globex_bundle = buy(globex, users, hours=80)
    work(make_ticket("globex.user", title="Globex scanner secret"), users, 30)
    return acme_bundle, globex_bundle, entry


def page_for(user, **params):
    client = Client()
    client.force_login(user)
    return client.get(PAGE, params)


def test_statement_page_contacts_own_staff_all_customer_users_none(users, two_orgs):
    acme_bundle, globex_bundle, entry = two_orgs
    own = page_for(users["acme.contact"])
    assert own.status_code == 200
    text = own.content.decode()
    assert "Acme export broken" in text and "Globex scanner secret" not in text
    assert "48:45" in text  # 50:00 - 1:15
    aimed = page_for(users["acme.contact"], organization=globex_bundle.organization_id)
    assert aimed.status_code == 200 and "Globex scanner secret" not in aimed.content.decode()
    assert page_for(users["acme.user"]).status_code == 404
    staff = page_for(users["csm"])
    assert "Acme Zorg" in staff.content.decode() and "Globex Logistics" in staff.content.decode()
    filtered = page_for(users["csm"], organization=globex_bundle.organization_id).content.decode()
    assert "Globex scanner secret" in filtered and "Acme export broken" not in filtered
    assert page_for(users["csm"], organization="x").status_code == 400


@pytest.mark.parametrize("language", ["nl", "en"])
def test_statement_and_bundle_dates_read_as_the_other_lists_do(users, two_orgs, language):
    """The statement's and the bundle table's dates are day-month-year, as every other list
    writes them, on one line: "05-01-2026", not "Jan. 5, 2026" broken over three lines."""
    for user in ("acme.contact", "csm"):
        client = Client()
        client.force_login(users[user])
        text = client.get(PAGE, headers={"accept-language": language}).content.decode()
        assert '<td class="nowrap">05-01-2026</td>' in text  # the purchase (day 5 January)
        assert "Jan. 5" not in text and "5 januari" not in text


def test_statement_page_threshold_form(users, two_orgs, acme):
    client = Client()
    client.force_login(users["acme.contact"])
    response = client.post("/billing/bundles/threshold/", {"threshold_hours": "12"})
    assert response.status_code == 302
    assert BundleAlert.objects.get(organization=acme).threshold_hours == 12
    bad = client.post("/billing/bundles/threshold/", {"threshold_hours": "-3"})
    assert bad.status_code == 400
    for name in ("acme.user", "csm"):
        other = Client()
        other.force_login(users[name])
        refused = other.post("/billing/bundles/threshold/", {"threshold_hours": "1"})
        assert refused.status_code in (403, 404)
    assert BundleAlert.objects.get(organization=acme).threshold_hours == 12


def test_statement_page_queries_do_not_grow(
    users, two_orgs, acme, make_ticket, django_assert_max_num_queries
):
    def count():
        with django_assert_max_num_queries(40) as ctx:
            assert page_for(users["acme.contact"]).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    buy(acme, users, day=dt.date(2026, 2, 1))
    for _ in range(5):
        work(make_ticket(title="More"), users, 10)
    assert count() == before


def test_api_list_detail_and_tenant_isolation(users, api, two_orgs):
    acme_bundle, globex_bundle, entry = two_orgs
    contact = api(users["acme.contact"])
    rows = contact.get(URL).json()["results"]
    assert [r["id"] for r in rows] == [acme_bundle.pk]
    assert rows[0]["balance_minutes"] == 3000 - 75 and rows[0]["drawn_minutes"] == 75
    detail = contact.get(f"{URL}{acme_bundle.pk}/").json()
    assert [(line["kind"], line["minutes"]) for line in detail["statement"]] == [
        ("purchase", 3000),
        ("draw", -75),
    ]
    assert detail["statement"][1]["number"] == entry.ticket.number
    assert detail["statement"][1]["time_entry"] == entry.pk
    assert contact.get(f"{URL}{globex_bundle.pk}/").status_code == 404
    assert contact.get(f"{URL}abc/").status_code == 404
    assert api(users["acme.user"]).get(URL).status_code == 403
    assert api(users["acme.user"]).get(f"{URL}{acme_bundle.pk}/").status_code in (403, 404)
    staff = api(users["csm"])
    assert len(staff.get(URL).json()["results"]) == 2
    only = staff.get(URL, {"organization": globex_bundle.organization_id}).json()["results"]
    assert [r["id"] for r in only] == [globex_bundle.pk]
    assert staff.get(URL, {"organization": "x"}).status_code == 400


def test_api_statement_and_threshold(users, api, two_orgs, acme, globex):
    contact = api(users["acme.contact"])
    body = contact.get(f"{URL}statement/").json()
    assert body["organization"] == acme.pk and body["balance_minutes"] == 2925
    assert body["low_balance_hours"] is None
    assert [line["kind"] for line in body["lines"]] == ["purchase", "draw"]
    assert contact.get(f"{URL}statement/", {"organization": globex.pk}).status_code == 404
    patched = contact.patch(f"{URL}statement/", {"low_balance_hours": 20}, format="json")
    assert patched.status_code == 200 and patched.json()["low_balance_hours"] == 20
    assert (
        contact.patch(f"{URL}statement/", {"low_balance_hours": -1}, format="json").status_code
        == 400
    )
    staff = api(users["csm"])
    assert staff.get(f"{URL}statement/").status_code == 400
    assert staff.get(f"{URL}statement/", {"organization": globex.pk}).json()["balance_minutes"] == (
        80 * 60 - 30
    )
    refused = staff.patch(
        f"{URL}statement/?organization={acme.pk}", {"low_balance_hours": 1}, format="json"
    )
    assert refused.status_code == 403
    assert api(users["acme.user"]).get(f"{URL}statement/").status_code == 403


def test_api_list_queries_do_not_grow(
    users, api, two_orgs, acme, make_ticket, django_assert_max_num_queries
):
    def count():
        with django_assert_max_num_queries(30) as ctx:
            assert api(users["csm"]).get(URL).status_code == 200
            assert api(users["acme.contact"]).get(f"{URL}statement/").status_code == 200
        return len(ctx.captured_queries)

    before = count()
    buy(acme, users, day=dt.date(2026, 2, 1))
    for _ in range(4):
        work(make_ticket(title="More"), users, 10)
    assert count() == before


def test_bundles_are_in_the_openapi_schema(users, api):
    schema = api(users["csm"]).get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/bundles/" in schema["paths"]
    assert "/api/v1/bundles/{id}/" in schema["paths"]
    assert set(schema["paths"]["/api/v1/bundles/statement/"]) >= {"get", "patch"}


# --- for the monthly overview -----------------------------------------------------------------


def test_month_draws_and_balance_at_month_end(users, acme, make_ticket, rates):
    bundle = buy(acme, users, day=dt.date(2024, 1, 10))
    march = work(make_ticket(), users, 100, day=dt.date(2024, 3, 31))
    work(make_ticket(), users, 50, day=dt.date(2024, 4, 1))
    draws, balance = bundles.month_draws(acme, dt.date(2024, 3, 1))
    assert [(d.entry_id, d.minutes) for d in draws] == [(march.pk, 100)]
    assert balance == 3000 - 100
    assert bundles.month_draws(acme, dt.date(2023, 12, 1)) == ([], 0)
    assert bundles.month_draws(acme, dt.date(2024, 4, 1))[1] == 3000 - 150
    # a recalculation after a month's end does not change that month's closing balance
    with freeze_time("2025-01-10 12:00"):
        bundles.recalculate_due()
    assert Recalculation.objects.get(bundle=bundle).remaining_after == 2280  # 2850 × 80/100
    assert bundles.month_draws(acme, dt.date(2024, 4, 1))[1] == 3000 - 150
    assert bundles.month_draws(acme, dt.date(2025, 1, 1))[1] == 2280
    assert bundles.drawn_minutes([march.pk, 999999]) == {march.pk: 100}


def test_the_notices_speak_the_readers_language(users, acme, make_ticket, rates):
    from django.utils import translation

    from escalation.delivery import messages_for

    bundles.set_threshold(acme, users["acme.contact"], 49)
    buy(acme, users)
    work(make_ticket(), users, 61)
    notice = told(bundles.LOW_BALANCE).get()
    with translation.override("nl"):
        subject, body, _extra = messages_for([notice])[0]
    assert subject == "Je strippenkaarten raken op" and "48:59" in body and "49 uur" in body
    with translation.override("en"):
        subject, body, _extra = messages_for([notice])[0]
    assert subject == "Your hour bundles are running low" and "48:59" in body


def _has_estimates():
    from changes.models import ChangeRequest

    return any(f.name == "estimate_minutes" for f in ChangeRequest._meta.get_fields())


@pytest.mark.skipif(not _has_estimates(), reason="changes has no estimate_minutes yet")
def test_a_change_is_judged_by_its_estimate(users, acme, make_ticket, rates):
    from changes.models import ChangeRequest
    from tickets.models import Kind

    bundle = buy(acme, users)
    small = make_ticket("agent", organization=acme, kind=Kind.CHANGE, priority=5)
    ChangeRequest.objects.filter(ticket=small).update(estimate_minutes=239)
    big = make_ticket("agent", organization=acme, kind=Kind.CHANGE, priority=5)
    ChangeRequest.objects.filter(ticket=big).update(estimate_minutes=240)
    assert draws_of(work(small, users, 300, category=Category.CHANGE)) == [(bundle.pk, 300)]
    assert draws_of(work(big, users, 30, category=Category.CHANGE)) == []
    new = make_ticket("agent", organization=acme, kind=Kind.CHANGE, priority=5)
    ChangeRequest.objects.filter(ticket=new).update(estimate_minutes=30, new_application=True)
    assert draws_of(work(new, users, 30, category=Category.CHANGE)) == []


def test_staff_page_queries_do_not_grow(
    users, two_orgs, acme, globex, make_ticket, django_assert_max_num_queries
):
    def count():
        with django_assert_max_num_queries(90) as ctx:
            assert page_for(users["csm"]).status_code == 200
            assert page_for(users["csm"], organization=globex.pk).status_code == 200
        return len(ctx.captured_queries)

    count()  # warm the caches
    before = count()
    buy(acme, users, day=dt.date(2026, 2, 1))
    buy(globex, users, day=dt.date(2026, 2, 1))
    work(make_ticket("globex.user", title="More"), users, 10)
    assert count() == before


def test_the_overview_shows_the_draws_and_does_not_bill_them_again(users, acme, make_ticket, rates):
    from billing import overview

    buy(acme, users, day=dt.date(2026, 1, 5))
    work(make_ticket(), users, 90, day=dt.date(2026, 3, 2))  # drawn
    work(make_ticket(), users, 30, day=dt.date(2026, 3, 3), category=Category.INTAKE_ADMIN)
    march = overview.overview(acme, dt.date(2026, 3, 1))
    assert march.bundles.drawn_minutes == 90 and march.bundles.balance_minutes == 2910
    assert [d.ticket.number for d in march.bundles.draws] == [Draw.objects.get().ticket.number]
    # 90 billable minutes at 105.00 = 157.50, all paid by the bundle
    assert march.bundle_amount == Decimal("157.50") and march.time_amount == Decimal("0.00")
    assert march.subtotal == Decimal("0.00")
    february = overview.overview(acme, dt.date(2026, 2, 1))
    assert february.bundles.draws == [] and february.bundles.balance_minutes == 3000
    assert overview.overview(acme, dt.date(2025, 12, 1)).bundles is None
    client = Client()
    client.force_login(users["acme.contact"])
    page = client.get("/billing/", {"month": "2026-03"}).content.decode()
    assert 'id="billing-bundles"' in page and "48:30" in page
    # the hours table subtracts what the bundle paid, so its amounts add up to its total
    written_off = page.split('id="billing-written-off"')[1].split("</tr>")[0]
    assert "-1.50 h" in written_off and "105.00" in written_off and "-157.50" in written_off
    # the downloads carry them too: the rows sum to the subtotal
    from billing import exports

    rows = list(csv.DictReader(io.StringIO(exports.overview_csv(march))))
    by_line = {r["line"]: r for r in rows}
    assert by_line["bundle_draw"]["reference"] == Draw.objects.get().ticket.number
    assert by_line["bundle_draw"]["minutes"] == "90"
    assert by_line["bundle_written_off"]["minutes"] == "-90"
    assert by_line["bundle_written_off"]["amount_excl_vat"] == "-157.50"
    assert by_line["bundle_balance"]["minutes"] == "2910"
    priced = [r for r in rows if r["line"] in ("time", "correction", "bundle_written_off")]
    assert sum(Decimal(r["amount_excl_vat"]) for r in priced) == march.subtotal
    pdf = exports.overview_pdf(march, "March 2026")
    assert b"-157.50" in pdf and b"48:30" in pdf
