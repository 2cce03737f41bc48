"""The whole incident round trip in a real browser (headless Debian Chromium)."""

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from pim.models import Role
from tests.conftest import make_user
from tests.e2e.conftest import authenticator_code
from tickets.models import Status, Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def login(page, username, device=None):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("form:has(input[name=password]) button[type=submit]")
    if device is not None:  # provider staff: the second step, a real TOTP code
        page.wait_for_url(re.compile(r"/account/two-factor/verify/"))
        page.fill("input[name=code]", authenticator_code(device.bin_key))
        page.click("form:has(input[name=code]) button[type=submit]")
    page.wait_for_url(re.compile(r"/(tickets|queue)/"))


def logout(page):
    page.locator("form[action$='/logout/'] button").click()
    page.wait_for_url(re.compile(r"/accounts/"))


def test_customer_files_agent_resolves_customer_confirms(page, shot, acme, live_server):
    make_user("acme.user", Role.CUSTOMER_USER, acme, language="nl")
    agent = make_user("agent", Role.AGENT, language="nl")
    device = TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    title = "Telefonie op de tweede verdieping valt weg"

    # acme.user files a P3 incident; the P1/P2 phone notice is shown only for P1/P2
    login(page, "acme.user")
    page.goto("/tickets/new/")
    page.fill("input[name=title]", title)
    page.fill("textarea[name=description]", "Sinds 9 uur kunnen vijf collega's niet bellen.")
    page.check("input[name=priority][value='1']")
    assert page.locator("#notice-phone").is_visible()
    page.check("input[name=priority][value='3']")
    assert not page.locator("#notice-phone").is_visible()
    shot(page, "01-customer-new-incident")
    page.click("form:has(input[name=title]) button[type=submit]")
    page.wait_for_url(re.compile(r"/tickets/INC-\d{4}-\d{5}/$"))
    number = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert number in page.content()
    shot(page, "02-customer-ticket-registered")
    logout(page)

    # the agent finds it in the queue, posts a public update and resolves it
    login(page, "agent", device)
    page.goto("/queue/")
    page.fill("input[name=search]", number)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"a:has-text('{number}')")
    shot(page, "03-agent-queue")
    page.click(f"a:has-text('{number}')")
    page.wait_for_url(re.compile(rf"/tickets/{number}/$"))
    page.click(f"form[action$='/tickets/{number}/take/'] button")
    page.wait_for_url(re.compile(rf"/tickets/{number}/$"))
    update = "Storing in de centrale gevonden; we herstarten de module om 11:00."
    page.fill("textarea[name=body]", update)
    page.check("input[name=visibility][value=public]")
    page.click("#ticket-main form button[type=submit]")
    page.wait_for_selector(f"text={update}")

    # the agent needs information: Wachten op klant, with the question
    question = "Op welke verdieping zitten de collega's die niet kunnen bellen?"
    move = page.locator(f"form[action$='/tickets/{number}/transition/']").filter(
        has=page.locator("#id_transition_status")
    )
    move.locator("#id_transition_status").select_option("waiting_for_customer")
    move.locator("textarea[name=note]").fill(question)
    move.locator("button[type=submit]").click()
    page.wait_for_selector("#waiting-banner")
    assert Ticket.objects.get(number=number).status == Status.WAITING_FOR_CUSTOMER
    shot(page, "04a-agent-waits-for-customer")

    # the customer (a browser of their own) sees the banner with the question and the bell
    # entry, answers, and the ticket moves to Reactie ontvangen
    own = page.context.browser.new_context(base_url=live_server.url, locale="nl-NL")
    customer = own.new_page()
    login(customer, "acme.user")
    assert customer.locator(".pim-bell mark").is_visible()  # unread notifications
    customer.click(".pim-bell")
    customer.wait_for_url(re.compile(r"/notifications/$"))
    entry = customer.locator("li.unread").filter(
        has_text=f"We hebben informatie van u nodig over {number}"
    )
    assert question in entry.inner_text()
    shot(customer, "04b-customer-bell")
    entry.locator("a").click()
    customer.wait_for_url(re.compile(rf"/tickets/{number}/$"))
    assert question in customer.locator("#waiting-banner").inner_text()
    shot(customer, "04c-customer-waiting-banner")
    answer = "Op de tweede verdieping, vijf collega's."
    customer.fill("textarea[name=body]", answer)
    customer.click("#ticket-main form button[type=submit]")
    customer.wait_for_selector(f"text={answer}")
    assert Ticket.objects.get(number=number).status == Status.RESPONSE_RECEIVED
    customer.reload()
    assert customer.locator("#waiting-banner").count() == 0
    assert "Reactie ontvangen" in customer.content()
    shot(customer, "04d-customer-answered")
    own.close()
    page.reload()

    page.locator("summary[role=button]").filter(has_text=re.compile("Afhandelen|Resolve")).click()
    resolve = page.locator(f"form[action$='/tickets/{number}/transition/']").filter(
        has=page.locator("textarea[name=resolution_cause]")
    )
    resolve.locator("input[name=resolution_type][value=definitive]").check()
    resolve.locator("textarea[name=resolution_cause]").fill("Defecte voedingsmodule.")
    resolve.locator("textarea[name=resolution_how]").fill("Module vervangen en getest.")
    shot(page, "04-agent-resolving")
    resolve.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/tickets/{number}/$"))
    ticket = Ticket.objects.get(number=number)
    assert ticket.status == Status.RESOLVED and ticket.resolution_type == "definitive"
    shot(page, "05-agent-resolved")
    logout(page)

    # acme.user sees the update and confirms the resolution
    login(page, "acme.user")
    page.goto(f"/tickets/{number}/")
    assert page.locator(f"text={update}").is_visible()
    shot(page, "06-customer-sees-update")
    page.click(f"form[action$='/tickets/{number}/confirm/'] button")
    page.wait_for_url(re.compile(rf"/tickets/{number}/$"))
    shot(page, "07-customer-confirmed")
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
