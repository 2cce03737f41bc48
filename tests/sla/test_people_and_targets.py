"""People and rules in words (issue 12 item 7): full names where customers look, targets in
SPEC order with translated names, business time as working hours or working days of the
calendar's length (never "2 d 0 h")."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation
from freezegun import freeze_time

from tickets import services

AMS = ZoneInfo("Europe/Amsterdam")
pytestmark = pytest.mark.django_db


def at(*a):
    return datetime(*a, tzinfo=AMS)


@pytest.fixture
def named(users):
    for username, first, last in [
        ("acme.user", "Anna", "de Vries"),
        ("agent", "Bart", "Jansen"),
    ]:
        user = users[username]
        user.first_name, user.last_name = first, last
        user.save()
    users["agent"].username = "bjansen"  # a username no page text contains by chance
    users["agent"].save()
    return users


def panel(page):
    start = page.index('id="ticket-sla"')
    return page[start : page.index("</article>", start)]


def test_customers_read_full_names_not_usernames(contracts, named, client):
    with freeze_time(at(2026, 11, 25, 9, 0)):
        ticket = services.create_ticket(
            actor=named["acme.user"], title="Phones down", description="d", priority=3
        )
    with freeze_time(at(2026, 11, 25, 9, 10)):
        services.take(ticket, named["agent"])
        services.add_update(ticket, named["agent"], "Looking into it.")
    with freeze_time(at(2026, 11, 25, 9, 20)):
        for viewer in ("acme.user", "acme.contact"):
            client.force_login(named[viewer])
            page = client.get(reverse("ticket-detail", args=[ticket.number])).text
            assert "Bart Jansen" in page and "Anna de Vries" in page
            assert "bjansen" not in page  # assignee, update author, audit trail, clock history


def test_full_name_filter_falls_back_to_the_username(users):
    template = Template("{% load people %}{{ a|full_name }}|{{ b|full_name }}")
    user = users["acme.user2"]
    named = users["acme.user"]
    named.first_name = "Anna"
    assert template.render(Context({"a": named, "b": user})) == "Anna|acme.user2"


@freeze_time(at(2026, 11, 25, 9, 0))
def test_ticket_page_targets_in_spec_order_and_working_hours(contracts, users, client):
    ticket = services.create_ticket(
        actor=users["acme.user"], title="Phones down", description="d", priority=3
    )
    services.take(ticket, users["agent"])
    client.force_login(users["acme.user"])
    text = panel(client.get(reverse("ticket-detail", args=[ticket.number])).text)
    positions = [text.index(f"<strong>{label}</strong>") for label in
                 ("Response", "Restore", "Resolution")]  # fmt: skip
    assert positions == sorted(positions)
    assert "48 working hours" in text and "8 working hours" in text
    assert "in 48 working hours" in text  # the working time left, not calendar days
    assert " d " not in text  # no "2 d 0 h" for 48 working hours


@freeze_time(at(2026, 11, 25, 9, 0))
def test_working_days_name_the_calendar_and_dutch_reads_dutch(contracts, users, client):
    change = services.create_ticket(
        actor=users["acme.user"], title="New extension", description="d", priority=5,
        kind="change",
    )  # fmt: skip
    client.force_login(users["acme.user"])
    text = panel(client.get(reverse("ticket-detail", args=[change.number])).text)
    assert "5 working days of 9 h (Kantoortijden NL)" in text
    users["acme.user"].language = "nl"
    users["acme.user"].save()
    text = panel(client.get(reverse("ticket-detail", args=[change.number])).text)
    assert "5 werkdagen van 9 u (Kantoortijden NL)" in text


@translation.override("en")
def test_business_time_tag():
    template = Template("{% load sla %}{% business_time s day name %}")

    def render(s, day=9 * 3600, name=""):
        return template.render(Context({"s": s, "day": day, "name": name}))

    assert render(48 * 3600) == "48 working hours"
    assert render(3600) == "1 working hour"
    assert render(2 * 3600 + 5 * 60) == "2 working hours 05 min"
    assert render(30 * 60) == "30 working min"
    assert render(45 * 3600, name="Kantoortijden NL") == "5 working days of 9 h (Kantoortijden NL)"
    assert render(48 * 3600, day=None) == "2 d 0 h"  # a 24/7 calendar: real days are days


@freeze_time(at(2026, 11, 25, 9, 0))
def test_compliance_lists_targets_in_spec_order_with_names(contracts, users, client):
    ticket = services.create_ticket(
        actor=users["acme.user"], title="Phones down", description="d", priority=3
    )
    services.take(ticket, users["agent"])
    client.force_login(users["csm"])
    page = client.get(reverse("sla-compliance"), {"since": "2026-11"}).text
    cells = [page.index(f"<td>{label}</td>") for label in ("Response", "Restore", "Resolution")]
    assert cells == sorted(cells)
    assert "<td>restore</td>" not in page
