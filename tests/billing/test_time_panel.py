"""The "Time" panel on the ticket page (issue 18 item 1): staff see every entry and add one;
customers see the ticket's billable entries only; another organisation's ticket is 404."""

import datetime as dt

import pytest
from django.test import Client
from django_scopes import scopes_disabled

from billing import services
from billing.models import Category, TimeEntry

pytestmark = pytest.mark.django_db


def add(ticket, users, category, description):
    return services.add_entry(
        ticket,
        users["agent"],
        {
            "user": users["agent"],
            "worked_on": dt.date(2026, 3, 2),
            "minutes": 25,
            "description": description,
            "category": category,
        },
    )


def page(users, username, ticket):
    client = Client()
    client.force_login(users[username])
    return client.get(ticket.get_absolute_url())


@pytest.fixture
def ticket(users, make_ticket):
    ticket = make_ticket("acme.user")
    add(ticket, users, Category.CONSULTANCY, "Advice on the dial plan zq1")
    add(ticket, users, Category.INTAKE_ADMIN, "Intake of the ticket zq2")
    return ticket


def test_staff_see_every_entry_and_the_form(users, ticket):
    body = page(users, "agent", ticket).content.decode()
    assert 'id="ticket-time"' in body and "zq1" in body and "zq2" in body
    assert 'action="/tickets/' in body and "id_time_minutes" in body
    body = page(users, "director", ticket).content.decode()
    assert "zq1" in body and "zq2" in body and "id_time_minutes" not in body  # managers read


@pytest.mark.parametrize("username", ["acme.user", "acme.contact"])
def test_customers_see_billable_entries_only(users, ticket, username):
    response = page(users, username, ticket)
    body = response.content.decode()
    assert response.status_code == 200
    assert "zq1" in body and "zq2" not in body and "id_time_minutes" not in body


def test_no_panel_for_a_customer_without_billable_time(users, make_ticket):
    other = make_ticket("acme.user", title="Only SLA time")
    add(other, users, Category.INCIDENT_PROVIDER, "Fixed our bug zq3")
    body = page(users, "acme.user", other).content.decode()
    assert 'id="ticket-time"' not in body and "zq3" not in body


def test_another_organisation_gets_404(users, ticket):
    assert page(users, "globex.contact", ticket).status_code == 404
    client = Client()
    client.force_login(users["globex.contact"])
    assert client.post(f"/tickets/{ticket.number}/time/", {}).status_code == 404


def test_worker_records_time_from_the_page(users, ticket):
    client = Client()
    client.force_login(users["oncall"])
    url = f"/tickets/{ticket.number}/time/"
    form = {
        "user": users["oncall"].pk,
        "worked_on": "2026-03-03",
        "minutes": "90",
        "category": "training",
        "description": "Explained the voicemail",
    }
    response = client.post(url, form)
    assert response.status_code == 302
    with scopes_disabled():
        entry = TimeEntry.objects.get(description="Explained the voicemail")
    assert entry.billable and entry.minutes == 90 and entry.created_by == users["oncall"]
    response = client.post(url, {**form, "minutes": "1441"})
    assert response.status_code == 400 and 'id="ticket-time"' in response.content.decode()
    response = client.post(url, {**form, "category": "bogus"})
    assert response.status_code == 400


def test_customers_cannot_record_time(users, ticket):
    client = Client()
    client.force_login(users["acme.contact"])
    client.post(
        f"/tickets/{ticket.number}/time/",
        {"user": users["agent"].pk, "worked_on": "2026-03-03", "minutes": "5",
         "category": "training", "description": "forged"},
    )  # fmt: skip
    with scopes_disabled():
        assert not TimeEntry.objects.filter(description="forged").exists()
