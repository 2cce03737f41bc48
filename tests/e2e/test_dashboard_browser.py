"""The manager dashboard in a real browser (issue 17): the director over all organisations
and Acme's authorised contact over their own, each following a drill-down to the list of
exactly the tickets a figure counted, on a desktop and on a phone; the contact downloads that
list as CSV."""

import csv
import io
import re

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from pim.models import Role
from tests.conftest import make_user
from tests.e2e.test_incident_flow import login, logout
from tests.sla.conftest import contracts, policy  # noqa: F401 - fixtures
from tickets import services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_director_and_contact_follow_a_drill_down(page, shot, contracts, acme, globex, monkeypatch):  # noqa: F811
    acme_user = make_user("acme.user", Role.CUSTOMER_USER, acme, language="nl")
    make_user("acme.contact", Role.AUTHORISED_CONTACT, acme, language="en")
    globex_user = make_user("globex.user", Role.CUSTOMER_USER, globex, language="nl")
    director = make_user("director", Role.OPS_DIRECTOR, language="nl")
    device = TOTPDevice.objects.create(user=director, name="phone", confirmed=True)
    mine = services.create_ticket(
        actor=acme_user, title="Telefonie plat", description="d", priority=2
    )
    theirs = services.create_ticket(
        actor=globex_user, title="Scanners offline", description="d", priority=3
    )
    month = timezone.localdate().strftime("%Y-%m")

    page.set_viewport_size({"width": 1366, "height": 900})
    login(page, "director", device)
    page.goto("/dashboard/")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("svg[role=img]").count() >= 3
    shot(page, "dashboard-director")
    # the month's tickets: both organisations, then the queue with exactly those
    row = page.locator("#dash-trend-table tbody tr").last
    assert row.locator("td").first.inner_text() == "2"
    row.locator("td a").first.click()
    page.wait_for_url(re.compile(rf"/queue/\?.*reported={month}"))
    numbers = set(page.locator("#queue-results tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.number)"
    ))  # fmt: skip
    assert numbers == {mine.number, theirs.number}
    logout(page)

    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "acme.contact")
    page.goto("/dashboard/")
    html = page.content()
    assert "Globex" not in html and theirs.number not in html
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "dashboard-contact-phone")
    row = page.locator("#dash-trend-table tbody tr").last
    assert row.locator("td").first.inner_text() == "1"
    row.locator("td a").first.click()
    page.wait_for_url(re.compile(rf"/tickets/\?.*reported={month}"))
    body = page.content()
    assert mine.number in body and theirs.number not in body
    # the drill-down's list as CSV: exactly the counted ticket (the contact reads English)
    with page.expect_download() as info:
        page.get_by_role("button", name="CSV").click()
    raw = open(info.value.path(), "rb").read()  # noqa: SIM115 - read once
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0][:2] == ["Number", "Title"]
    assert [r[0] for r in rows[1:]] == [mine.number]
    # the wallboard: no navigation, refreshes itself (every 2 seconds here)
    monkeypatch.setattr("sla.dashboard_views.WALLBOARD_REFRESH_SECONDS", 2)
    page.goto("/dashboard/wallboard/")
    assert page.locator("nav.pim-nav").count() == 0
    assert page.locator("meta[http-equiv=refresh]").count() == 0  # axe: critical
    # it fetches itself again and swaps its content in place, without a reload
    page.evaluate("window.notReloaded = true")
    with page.expect_response(
        lambda r: "/dashboard/wallboard/" in r.url and r.request.headers.get("hx-request"),
        timeout=15_000,
    ):
        pass
    page.wait_for_timeout(500)
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#main h1").count() == 1
