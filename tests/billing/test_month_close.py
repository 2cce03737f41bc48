"""Closing a billing month (issue 18 items 1 and 4): every write path of a frozen entry is
refused (409), edits are audited, only managers close a month that has ended, once; an incident
reclassified after the close gets a correction line in the next open month."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import translation
from freezegun import freeze_time

from billing import months, services
from billing.models import Category, ClosedMonth, Correction, TimeEntry
from escalation.models import Channel, Notification
from tickets.models import AuditEntry

pytestmark = pytest.mark.django_db

URL = "/api/v1/time-entries/"
NOW = "2026-04-10 10:00:00+02:00"
MARCH = dt.date(2026, 3, 1)


@pytest.fixture
def closed_march(users, acme, make_ticket, add_time, rates):
    """An Acme incident with time in March (closed) and in April (open)."""
    ticket = make_ticket("acme.user")
    march = add_time(ticket, "2026-03-31", 45, Category.INCIDENT_PROVIDER, "March work")
    april = add_time(ticket, "2026-04-01", 20, Category.INCIDENT_PROVIDER, "April work")
    with freeze_time(NOW):
        months.close_month(acme, MARCH, users["csm"])
    return ticket, march, april


def test_closing_records_who_and_when(users, acme, rates):
    with freeze_time(NOW):
        closed = months.close_month(acme, dt.date(2026, 3, 15), users["director"])
    assert closed.month == MARCH and closed.closed_by == users["director"]
    assert closed.closed_at.isoformat() == "2026-04-10T08:00:00+00:00"
    assert months.is_closed(acme.pk, MARCH) and not months.is_closed(acme.pk, dt.date(2026, 2, 1))


@pytest.mark.parametrize("username", ["agent", "oncall", "admin", "acme.contact", "acme.user"])
def test_only_managers_close(users, acme, username):
    with freeze_time(NOW), pytest.raises(PermissionDenied):
        months.close_month(acme, MARCH, users[username])
    assert not ClosedMonth.objects.exists()


@pytest.mark.parametrize("month", [dt.date(2026, 4, 1), dt.date(2026, 5, 1)])
def test_the_current_or_a_future_month_cannot_be_closed(users, acme, month):
    with freeze_time(NOW), pytest.raises(months.MonthClosed):
        months.close_month(acme, month, users["csm"])


def test_closing_twice_is_refused(users, acme, closed_march):
    with (
        freeze_time(NOW),
        translation.override("en"),
        pytest.raises(months.MonthClosed, match="March 2026 is already closed for Acme Zorg"),
    ):
        months.close_month(acme, MARCH, users["director"])
    assert ClosedMonth.objects.count() == 1


def test_closing_needs_the_rates_of_billable_time(users, acme, make_ticket, add_time):
    add_time(make_ticket(), "2026-03-02", 60, Category.TRAINING)
    with freeze_time(NOW), pytest.raises(months.MonthClosed, match="2026"):
        months.close_month(acme, MARCH, users["csm"])


def test_closing_is_per_organisation(users, globex, make_ticket, add_time, closed_march):
    globex_ticket = make_ticket("globex.user")
    entry = add_time(globex_ticket, "2026-03-10", 30)
    services.edit_entry(entry, users["agent"], {"minutes": 35})  # Globex's March is open
    entry.refresh_from_db()
    assert entry.minutes == 35


# --- freezing: every write path -------------------------------------------------------------


def test_services_refuse_every_write_in_a_closed_month(users, closed_march, add_time):
    ticket, march, april = closed_march
    with pytest.raises(months.MonthClosed):
        add_time(ticket, "2026-03-05", 10)
    with pytest.raises(months.MonthClosed):
        services.edit_entry(march, users["agent"], {"minutes": 50})
    with pytest.raises(months.MonthClosed):
        services.edit_entry(march, users["agent"], {"category": Category.INCIDENT_THIRD_PARTY})
    with pytest.raises(months.MonthClosed):  # moving open time into the closed month
        services.edit_entry(april, users["agent"], {"worked_on": dt.date(2026, 3, 30)})
    with pytest.raises(months.MonthClosed):
        services.delete_entry(march, users["agent"])
    march.refresh_from_db()
    assert (march.minutes, march.category) == (45, Category.INCIDENT_PROVIDER)
    # the open month is not touched by the close
    services.edit_entry(april, users["agent"], {"minutes": 25})
    add_time(ticket, "2026-04-02", 10)


def test_api_answers_409_for_each_write_path(api, users, closed_march):
    ticket, march, april = closed_march
    client = api(users["agent"])
    body = {"ticket": ticket.pk, "worked_on": "2026-03-05", "minutes": 10,
            "description": "Late entry", "category": "training"}  # fmt: skip
    response = client.post(URL, body, format="json")
    assert response.status_code == 409
    assert "maart 2026" in str(response.data) or "March 2026" in str(response.data)
    assert client.patch(f"{URL}{march.pk}/", {"minutes": 1}, format="json").status_code == 409
    assert client.put(f"{URL}{march.pk}/", {**body, "worked_on": "2026-03-31"},
                      format="json").status_code == 409  # fmt: skip
    assert client.delete(f"{URL}{march.pk}/").status_code == 409
    response = client.patch(f"{URL}{april.pk}/", {"worked_on": "2026-03-01"}, format="json")
    assert response.status_code == 409
    assert TimeEntry.objects.filter(ticket=ticket).count() == 2
    assert client.patch(f"{URL}{april.pk}/", {"minutes": 21}, format="json").status_code == 200


def test_the_ticket_page_answers_409_for_a_closed_month(users, closed_march):
    ticket, _march, _april = closed_march
    client = Client()
    client.force_login(users["agent"])
    response = client.post(
        f"/tickets/{ticket.number}/time/",
        {"user": users["agent"].pk, "worked_on": "2026-03-20", "minutes": "15",
         "category": "training", "description": "Late entry"},
    )  # fmt: skip
    assert response.status_code == 409
    body = response.content.decode()
    assert 'id="ticket-time"' in body and "March 2026" in body
    assert not TimeEntry.objects.filter(description="Late entry").exists()


# --- the audit of edits ---------------------------------------------------------------------


def test_every_edit_is_audited_with_who_when_and_old_to_new(users, make_ticket, add_time):
    ticket = make_ticket()
    with freeze_time("2026-03-03 09:00:00+01:00"):
        entry = add_time(ticket, "2026-03-02", 30, Category.INCIDENT_PROVIDER)
    with freeze_time("2026-03-04 14:30:00+01:00"):
        services.edit_entry(
            entry, users["oncall"], {"minutes": 40, "category": Category.INCIDENT_THIRD_PARTY}
        )
    with freeze_time("2026-03-05 08:00:00+01:00"):
        services.delete_entry(entry, users["admin"])
    trail = list(AuditEntry.objects.filter(ticket=ticket, object_type="timeentry").order_by("at"))
    assert [(a.action, a.actor.username) for a in trail] == [
        ("time_added", "agent"),
        ("time_changed", "oncall"),
        ("time_deleted", "admin"),
    ]
    assert trail[1].at.isoformat() == "2026-03-04T13:30:00+00:00"
    assert trail[1].changes == {
        "minutes": [30, 40],
        "category": ["incident_provider", "incident_third_party"],
    }
    assert trail[2].changes["minutes"] == [40, None]


# --- a reclassification after the close -------------------------------------------------------


def told(ticket):
    return Notification.objects.filter(
        ticket=ticket, template="billing_time_billable", channel=Channel.IN_APP
    )


def test_reclassification_after_close_becomes_a_correction_in_the_next_open_month(
    users, acme, closed_march
):
    ticket, march, april = closed_march
    with freeze_time("2026-04-12 11:00:00+02:00"):
        done = months.reclassify(
            ticket, users["agent"], Category.INCIDENT_THIRD_PARTY, "The carrier's outage"
        )
    # the frozen entry is untouched
    march.refresh_from_db()
    assert (march.category, march.billable, march.minutes) == ("incident_provider", False, 45)
    # the open month's entry is edited (audited as any edit)
    april.refresh_from_db()
    assert april.category == "incident_third_party" and april.billable
    assert [e.pk for e in done["edited"]] == [april.pk]
    # one correction, in April (the next open month)
    correction = Correction.objects.get()
    assert done["corrections"] == [correction]
    assert (correction.organization, correction.month, correction.ticket, correction.entry) == (
        acme, dt.date(2026, 4, 1), ticket, march,
    )  # fmt: skip
    assert (correction.minutes, correction.billable_minutes) == (45, 45)
    assert (correction.from_category, correction.to_category) == (
        "incident_provider",
        "incident_third_party",
    )
    assert correction.reason == "The carrier's outage" and correction.created_by == users["agent"]
    audit = AuditEntry.objects.get(ticket=ticket, action="time_corrected")
    assert audit.object_id == march.pk and audit.changes["worked_on"] == [
        "2026-03-31",
        "2026-04-01",
    ]
    # the customer is told once, with the reason
    assert sorted(n.recipient.username for n in told(ticket)) == ["acme.contact", "acme.user"]


def test_correction_skips_closed_months_and_credits_time_back(users, acme, make_ticket, add_time,
                                                              rates):  # fmt: skip
    ticket = make_ticket()
    entry = add_time(ticket, "2026-02-10", 60, Category.INCIDENT_THIRD_PARTY)
    with freeze_time("2026-05-02 10:00:00+02:00"):
        for month in (2, 3, 4):
            months.close_month(acme, dt.date(2026, month, 1), users["csm"])
        months.reclassify(ticket, users["agent"], Category.INCIDENT_PROVIDER, "Our bug after all")
    correction = Correction.objects.get()
    assert correction.month == dt.date(2026, 5, 1) and correction.billable_minutes == -60
    entry.refresh_from_db()
    assert entry.category == "incident_third_party"
    assert not told(ticket).exists()


def test_reclassify_checks_its_input_and_role(users, make_ticket, closed_march):
    ticket, _march, _april = closed_march
    with pytest.raises(PermissionDenied):
        months.reclassify(ticket, users["acme.contact"], Category.INCIDENT_THIRD_PARTY, "x")
    with pytest.raises(ValidationError):
        months.reclassify(ticket, users["agent"], Category.TRAINING, "not a cause")
    with pytest.raises(ValidationError):
        months.reclassify(ticket, users["agent"], Category.INCIDENT_THIRD_PARTY, "  ")
    question = make_ticket(kind="question", title="How do I")
    with pytest.raises(ValidationError):
        months.reclassify(question, users["agent"], Category.INCIDENT_THIRD_PARTY, "why")
    assert not Correction.objects.exists()


def test_reclassify_api(api, users, closed_march):
    ticket, march, april = closed_march
    url = f"/api/v1/tickets/{ticket.pk}/reclassify-time/"
    body = {"category": "incident_old_quote", "reason": "Quoted work from 2025"}
    assert api(users["acme.contact"]).post(url, body, format="json").status_code == 403
    assert api(users["globex.contact"]).post(url, body, format="json").status_code == 404
    bad = api(users["agent"]).post(url, {**body, "category": "consultancy"}, format="json")
    assert bad.status_code == 400
    response = api(users["agent"]).post(url, body, format="json")
    assert response.status_code == 200, response.data
    data = response.json()
    assert data["edited"] == [april.pk]
    assert data["corrections"][0]["month"] == "2026-04-01"
    assert data["corrections"][0]["billable_minutes"] == 45


def test_a_second_reclassification_moves_on_from_the_correction(users, closed_march):
    ticket, march, _april = closed_march
    with freeze_time("2026-04-12 11:00:00+02:00"):
        months.reclassify(ticket, users["agent"], Category.INCIDENT_THIRD_PARTY, "Carrier")
        # to another billable cause: no change in billable time
        months.reclassify(ticket, users["agent"], Category.INCIDENT_HOURLY_WORK, "Our hourly job")
        # the same again: nothing to correct
        again = months.reclassify(ticket, users["agent"], Category.INCIDENT_HOURLY_WORK, "Again")
        assert again["corrections"] == []
        # back to our own fault: the charge is credited
        months.reclassify(ticket, users["agent"], Category.INCIDENT_PROVIDER, "Our bug after all")
    rows = list(
        Correction.objects.filter(entry=march)
        .order_by("pk")
        .values_list("from_category", "to_category", "billable_minutes")
    )
    assert rows == [
        ("incident_provider", "incident_third_party", 45),
        ("incident_third_party", "incident_hourly_work", 0),
        ("incident_hourly_work", "incident_provider", -45),
    ]
    assert sum(r[2] for r in rows) == 0
