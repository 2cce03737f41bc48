"""The change path in a real browser (headless Debian Chromium): a medium change from request to
the planned window the customer sees, and a large change that needs both approvals."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from changes import services as change_services
from changes.models import ChangeRequest
from pim.models import Role
from tests.conftest import make_user
from tests.e2e.test_incident_flow import login, logout
from tickets import services as ticket_services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def staff(username, role):
    user = make_user(username, role, language="nl")
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def take_step(page, action, fill=None, draft=False):
    """Open the step's fold on the ticket page, fill its form and submit it (the quote's
    form: `draft` saves it as a draft instead of sending it)."""
    page.locator(f"details:has(form[data-change-step={action}]) > summary").click()
    form = page.locator(f"form[data-change-step={action}]")
    for name, value in (fill or {}).items():
        field = form.locator(f"[name={name}]")
        if field.first.get_attribute("type") == "radio":
            form.locator(f"input[name={name}][value='{value}']").check()
        elif field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("button[name=draft]" if draft else "button[type=submit]:not([name])").click()
    page.wait_for_load_state()


def stage_of(number):
    return ChangeRequest.objects.get(ticket__number=number).stage


def test_contact_files_agent_quotes_contact_approves_agent_plans(page, shot, acme, live_server):
    make_user("acme.contact", Role.AUTHORISED_CONTACT, acme, language="nl")
    agent = staff("agent", Role.AGENT)

    # acme.contact files a change request with its own form and guide
    login(page, "acme.contact")
    page.goto("/tickets/new/")
    page.click("a[href='/changes/new/']")
    page.wait_for_url(re.compile(r"/changes/new/$"))
    assert page.locator("#change-guide").is_visible()
    page.fill("input[name=title]", "Toestel 215 in de receptiegroep")
    page.fill("textarea[name=description]", "Voeg toestel 215 toe aan de groep van de receptie.")
    page.fill("textarea[name=why]", "Per 1 december start een nieuwe receptioniste.")
    page.check("input[name=priority][value='3']")
    shot(page, "change-01-customer-files")
    page.click("form:has(input[name=title]) button[type=submit]")
    page.wait_for_url(re.compile(r"/tickets/CHG-\d{4}-\d{5}/$"))
    number = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert "Aangevraagd" in page.locator("#change-stage").inner_text()

    # the agent (a browser of their own: one sign-in, one authenticator code) classifies it as
    # medium and sends a quote
    own = page.context.browser.new_context(base_url=live_server.url, locale="nl-NL")
    desk = own.new_page()
    login(desk, "agent", agent)
    desk.goto(f"/tickets/{number}/")
    take_step(desk, "classify", {"type": "medium", "reason": "Gemiddelde impact, gepland werk."})
    assert stage_of(number) == "classified"
    take_step(desk, "quote", {"free": "false", "amount": "400.00"}, draft=True)
    assert stage_of(number) == "classified"  # a draft: not sent
    assert desk.locator("#change-draft").is_visible()
    take_step(desk, "quote", {"amount": "450.00"})  # the draft's form, amended and sent
    assert stage_of(number) == "quoted"
    assert "450" in desk.locator("#change-documents").inner_text()
    shot(desk, "change-02-agent-quoted")

    # acme.contact approves that version
    page.goto(f"/tickets/{number}/")
    take_step(page, "approve", {"note": "Akkoord met de kosten."})
    assert stage_of(number) == "approved"
    assert "Akkoord met de kosten." in page.locator("#change-approvals").inner_text()

    # the agent plans it
    start = timezone.localtime() + timedelta(days=7)
    start = start.replace(hour=8, minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=4)
    desk.goto(f"/tickets/{number}/")
    take_step(
        desk,
        "plan",
        {
            "planned_start": start.strftime("%Y-%m-%dT%H:%M"),
            "planned_end": end.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert stage_of(number) == "planned"
    own.close()

    # acme.contact sees the planned window
    page.goto(f"/tickets/{number}/")
    window = page.locator("#change-planned-window").inner_text()
    assert start.strftime("%d-%m-%Y %H:%M") in window and end.strftime("%d-%m-%Y %H:%M") in window
    assert "Gepland" in page.locator("#change-stage").inner_text()
    shot(page, "change-03-customer-sees-window")


def test_a_large_change_is_planned_only_after_both_approvals(page, shot, acme, live_server):
    contact = make_user("acme.contact", Role.AUTHORISED_CONTACT, acme, language="nl")
    agent = staff("agent", Role.AGENT)
    csm = staff("csm", Role.CSM)
    ticket = ticket_services.create_ticket(
        actor=contact, kind="change", title="Nieuwe telefooncentrale", description="Project."
    )
    change_services.act(ticket, agent.user, "classify", {"type": "large", "reason": "Project"})
    change_services.act(ticket, agent.user, "quote", {"free": False, "amount": 25000})
    number = ticket.number

    login(page, "acme.contact")
    page.goto(f"/tickets/{number}/")
    take_step(page, "approve")
    assert stage_of(number) == "quoted"  # the provider's approval is still missing
    logout(page)

    # the agent (a browser of their own, signed in once) cannot plan it yet
    own = page.context.browser.new_context(base_url=live_server.url, locale="nl-NL")
    desk = own.new_page()
    login(desk, "agent", agent)
    desk.goto(f"/tickets/{number}/")
    assert desk.locator("form[data-change-step=plan]").count() == 0

    # the customer service manager approves the RFC for the provider
    login(page, "csm", csm)
    page.goto(f"/tickets/{number}/")
    take_step(page, "provider_approve", {"note": "Capaciteit is er."})
    assert stage_of(number) == "approved"
    shot(page, "change-04-large-approved-both-sides")

    # now the agent can plan it
    desk.reload()
    assert desk.locator("form[data-change-step=plan]").count() == 1
    own.close()
