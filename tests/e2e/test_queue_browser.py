"""The queue in a real browser (issue 15): countdowns tick, rows refresh themselves without
losing the selection, the cursor or the scroll, keyboard shortcuts, bulk actions. The browser's
clock is Playwright's (page.clock), so no test waits for real time to pass."""

import json
import re
import urllib.request

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from pim.auth import create_token
from pim.models import Role
from tests.conftest import make_user
from tests.e2e.test_incident_flow import login
from tests.sla.conftest import contracts, policy  # noqa: F401 - fixtures
from tickets import services
from tickets.models import Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def file(reporter, title, priority):
    return services.create_ticket(actor=reporter, title=title, description="d", priority=priority)


def file_through_the_api(live_server, token, title, priority):
    """A ticket filed through the portal's API, as an integration does; its number."""
    body = {"title": title, "description": "d", "priority": priority}
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/tickets/",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the live server
        return json.loads(response.read())["number"]


def test_queue_ticks_refreshes_and_keeps_the_selection(
    page,
    shot,
    live_server,
    contracts,  # noqa: F811 - the fixture imported above
    globex,
):
    reporter = make_user("globex.user", Role.CUSTOMER_USER, globex, language="nl")
    _, token = create_token(reporter, "monitoring")
    agent = make_user("agent", Role.AGENT, language="nl")
    device = TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    first = file(reporter, "Alles plat", 1)  # Globex is 24/7: the response is due in 30 min
    for i in range(30):
        file(reporter, f"Printer {i}", 4)
    page.set_viewport_size({"width": 1366, "height": 700})
    page.clock.install()
    login(page, "agent", device)
    page.goto("/queue/")
    rows = page.locator("#queue-results tbody tr")
    assert rows.first.get_attribute("data-number") == first.number  # urgency first

    # the countdown ticks in the browser
    countdown = rows.first.locator(".sla-left")
    before = countdown.inner_text()
    assert before.startswith("over ")
    page.clock.run_for("05:00")
    assert countdown.inner_text() != before

    # j moves the cursor, x ticks the row; the count of selected tickets follows
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("x")
    second = rows.nth(1)
    number = second.get_attribute("data-number")
    assert "is-cursor" in second.get_attribute("class")
    assert second.locator("input[name=tickets]").is_checked()
    assert page.locator("#queue-selected").inner_text() == "(1)"

    # a ticket arrives; the refresh shows it without a reload, keeping selection and scroll
    page.mouse.wheel(0, 300)
    page.wait_for_function("window.scrollY > 0")
    scrolled = page.evaluate("window.scrollY")
    # the customer files it through the API: the live server writes it, not this thread (on
    # SQLite both share the one in-memory database, and a write from here while the server
    # still held a statement failed with "database table is locked")
    arrived = file_through_the_api(live_server, token, "Nieuwe storing", 2)
    page.evaluate("window.pimLoaded = true")  # gone if the page reloaded
    page.clock.run_for("00:31")
    page.wait_for_selector(f"#queue-results tr[data-number='{arrived}']")
    assert page.evaluate("window.pimLoaded") is True
    row = page.locator(f"#queue-results tr[data-number='{number}']")
    assert row.locator("input[name=tickets]").is_checked()
    assert "is-cursor" in row.get_attribute("class")
    assert page.evaluate("window.scrollY") == scrolled
    shot(page, "queue-refreshed")

    # x again on the cursor row, then bulk: take the first two
    page.keyboard.press("k")
    top = page.locator("#queue-results tr.is-cursor").get_attribute("data-number")
    page.keyboard.press("x")
    assert page.locator("#queue-selected").inner_text() == "(2)"
    page.select_option("#bulk_action", "take")
    page.click("#queue-bulk button[type=submit]")
    page.wait_for_selector(".messages li")
    assert page.locator(".messages li").first.inner_text() == "2 bijgewerkt"
    taken = Ticket.objects.filter(assignee=agent).values_list("number", flat=True)
    assert set(taken) == {top, number}

    # ? opens the shared shortcut help, which lists the queue's keys
    page.keyboard.press("?")
    help_ = page.locator("#shortcut-help")
    assert help_.is_visible() and "Het ticket selecteren of deselecteren" in help_.inner_text()
    page.keyboard.press("Escape")
    assert not help_.is_visible()

    # Enter opens the ticket under the cursor
    page.keyboard.press("j")
    opened = page.locator("#queue-results tr.is-cursor").get_attribute("data-number")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/tickets/{opened}/$"))
