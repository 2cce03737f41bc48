"""acme.contact finds upcoming maintenance in the month view and subscribes (headless Chromium)."""

import re
from datetime import timedelta

import pytest

from maintenance import rules, services
from maintenance.models import Kind, Subscription
from pim.models import Role
from tests.conftest import make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def login(page, username):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(re.compile(r"/(tickets|queue)/"))


def test_contact_sees_upcoming_maintenance_in_the_month_view_and_subscribes(
    page, shot, acme, globex
):
    contact = make_user("acme.contact", Role.AUTHORISED_CONTACT, acme, language="nl")
    agent = make_user("agent", Role.AGENT, language="nl")
    start = rules.earliest_allowed_start(Kind.PREVENTIVE) + timedelta(hours=22)
    ours = services.create_notice(
        agent,
        kind=Kind.PREVENTIVE,
        title="Firmware-update kernrouter",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        organizations=[acme],
        impact="degraded",
        emergency_scenario="Bel via de 4G-back-up.",
    )
    services.create_notice(
        agent,
        kind=Kind.PREVENTIVE,
        title="Globex only window",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        organizations=[globex],
    )

    login(page, "acme.contact")
    page.click("nav a[href='/maintenance/']")
    page.wait_for_url(re.compile(r"/maintenance/$"))
    assert page.locator("#maintenance-list").get_by_text(ours.title).is_visible()
    page.click("a[href='/maintenance/month/']")
    page.goto(f"/maintenance/month/?month={start:%Y-%m}")
    day = page.locator(f"#maintenance-month td[data-date='{start:%Y-%m-%d}']")
    assert day.get_by_text(ours.title).is_visible()
    assert page.get_by_text("Globex only window").count() == 0
    shot(page, "maintenance-01-month-view")

    day.get_by_text(ours.title).click()
    page.wait_for_url(re.compile(rf"/maintenance/{ours.pk}/$"))
    assert page.get_by_text("Bel via de 4G-back-up.").is_visible()
    shot(page, "maintenance-02-notice")

    page.click("a[href='/maintenance/subscriptions/']")
    page.wait_for_url(re.compile(r"/maintenance/subscriptions/$"))
    form = page.locator("#subscribe-form")
    assert form.locator("select[name=organization] option").all_inner_texts() == [acme.name]
    form.locator("select[name=service]").select_option(label="Telefonie")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/maintenance/subscriptions/$"))
    assert page.locator("#subscription-list").get_by_text("Telefonie").is_visible()
    shot(page, "maintenance-03-subscribed")
    sub = Subscription.objects.get(user=contact)
    assert sub.organization == acme and sub.service.name == "Telefonie"
