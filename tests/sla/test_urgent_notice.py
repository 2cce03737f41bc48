"""The P1/P2 phone notice reads the contract and the clock (issue 12 item 9): in office hours
"call us as well"; outside them an office-hours customer is told the response due time and the
next opening, a 24/7 customer the on-call number."""

import pytest
from django.urls import reverse
from freezegun import freeze_time

from tickets.models import Ticket

# Amsterdam is UTC+1 in December: Monday 7 December 2026 10:00 local, and 19:54 local.
IN_HOURS = "2026-12-07 09:00:00+00:00"
EVENING = "2026-12-07 18:54:00+00:00"


@pytest.fixture
def customer(client, users, contracts):
    def _login(username):
        client.force_login(users[username])
        return client

    return _login


def notice(page):
    start = page.index('id="notice-phone"')
    return page[start : page.index("</p>", start)]


@freeze_time(IN_HOURS)
@pytest.mark.parametrize("username", ["acme.user", "globex.user"])
def test_in_office_hours_everyone_is_asked_to_call(customer, settings, username):
    text = notice(customer(username).get(reverse("ticket-create")).text)
    assert "call us as well on " + settings.SERVICE_DESK_PHONE in text
    assert settings.ONCALL_PHONE not in text


@freeze_time(EVENING)
def test_office_hours_contract_after_hours_is_told_what_the_contract_promises(customer, settings):
    client = customer("acme.user")
    text = notice(client.get(reverse("ticket-create")).text)
    assert "call us as well" not in text and settings.ONCALL_PHONE not in text
    assert "opens again Tuesday 8 December 08:00" in text
    # response targets run on office hours: P1 30 min, P2 1 h after the next opening
    assert "P1 Tuesday 8 December 08:30" in text and "P2 Tuesday 8 December 09:00" in text
    response = client.post(
        reverse("ticket-create"),
        {"title": "Centrale plat", "description": "Niemand kan bellen.", "priority": "1"},
        follow=True,
    )
    ticket = Ticket.objects.get()
    (message,) = [str(m) for m in response.context["messages"] if "office hours" in str(m)]
    assert f"we respond to {ticket.number} by Tuesday 8 December 08:30" in message
    assert "call us as well" not in response.text


@freeze_time(EVENING)
def test_office_hours_notice_in_dutch(customer, users):
    users["acme.user"].language = "nl"
    users["acme.user"].save()
    text = notice(customer("acme.user").get(reverse("ticket-create")).text)
    assert "dinsdag 8 december 08:00" in text


@freeze_time(EVENING)
def test_24_7_contract_after_hours_gets_the_on_call_number(customer, settings):
    client = customer("globex.user")
    text = notice(client.get(reverse("ticket-create")).text)
    assert "on-call service as well on " + settings.ONCALL_PHONE in text
    assert settings.SERVICE_DESK_PHONE not in text
    response = client.post(
        reverse("ticket-create"),
        {"title": "Datacenter plat", "description": "Alles ligt eruit.", "priority": "2"},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any(settings.ONCALL_PHONE in m for m in messages)


@freeze_time(EVENING)
def test_agents_see_no_customer_notice(client, users, contracts):
    client.force_login(users["agent"])
    assert 'id="notice-phone"' not in client.get(reverse("ticket-create")).text
