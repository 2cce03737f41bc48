"""The agent's ticket page in a real browser at 1366×900 (issue 15 item 3): a second agent sees
"also working on this" (and that the first is writing a reply, through the page's polling), and
the first replies from the composer at the top with two attachments, one chosen and one dropped
onto the composer, a canned response and a status change, in one submit."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from pim.models import Role
from tests.conftest import make_user
from tests.e2e.conftest import CSP_WATCH
from tests.e2e.test_incident_flow import login
from tickets import services
from tickets.models import Attachment, CannedResponse, Status, Ticket, TicketUpdate

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DESKTOP = {"width": 1366, "height": 900}

# Drops a file onto the composer as a browser does when a file is dragged from the desktop.
DROP_FILE = """
([name, text]) => {
  const composer = document.querySelector("#composer");
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], name, {type: "text/plain"}));
  for (const type of ["dragenter", "dragover", "drop"]) {
    composer.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true,
                                                dataTransfer: transfer}));
  }
}
"""


def staff(username, first_name):
    user = make_user(username, Role.AGENT, language="nl")
    user.first_name = first_name
    user.save()
    return user, TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def test_agent_replies_with_two_files_while_a_colleague_sees_it(
    page, shot, acme, live_server, csp_violations, tmp_path
):
    reporter = make_user("acme.user", Role.CUSTOMER_USER, acme, language="nl")
    reporter.first_name = "Anna"
    reporter.save()
    agent, agent_device = staff("agent", "Bram")
    _colleague, colleague_device = staff("oncall", "Carla")
    CannedResponse.objects.create(
        title="Meer informatie", body="Beste {reporter_name}, over {ticket_number}: ", language="nl"
    )
    ticket = services.create_ticket(
        actor=reporter, title="Telefonie valt weg", description="Vijf collega's kunnen niet bellen."
    )
    services.take(ticket, agent)
    url = f"/tickets/{ticket.number}/"

    # the agent opens the ticket: the composer is on the first screen
    page.set_viewport_size(DESKTOP)
    login(page, "agent", agent_device)
    page.goto(url)
    shot(page, "composer-00-agent-opens")
    # the reply box starts on the first screen (its first lines are visible without scrolling)
    box = page.locator("#composer textarea[name=body]").bounding_box()
    assert box is not None and box["y"] + 60 < DESKTOP["height"], box

    # a colleague opens it in a browser of their own: the notice names the agent
    context = page.context.browser.new_context(base_url=live_server.url, locale="nl-NL")
    context.expose_function("pimCspViolation", lambda v: csp_violations.append(v))
    context.add_init_script(CSP_WATCH)
    colleague = context.new_page()
    colleague.set_viewport_size(DESKTOP)
    login(colleague, "oncall", colleague_device)
    colleague.goto(url)
    notice = colleague.locator("#ticket-presence")
    assert "Werkt hier ook aan:" in notice.inner_text() and "Bram" in notice.inner_text()

    # the agent starts typing (a canned response, then their own words): the colleague's page,
    # polling its heartbeat, says the agent is writing a reply
    page.locator("#id_composer_canned").select_option(label="Meer informatie (NL)")
    body = page.locator("#composer textarea[name=body]")
    assert body.input_value() == f"Beste Anna, over {ticket.number}: "
    body.press_sequentially("op welke verdieping?")
    colleague.wait_for_selector("#ticket-presence .pim-presence.is-typing", timeout=30_000)
    assert "schrijft een antwoord" in colleague.locator("#ticket-presence").inner_text()
    shot(colleague, "composer-01-colleague-sees-typing")

    # two attachments: one chosen, one dropped onto the composer; then a status change
    chosen = tmp_path / "plattegrond.pdf"
    chosen.write_bytes(b"%PDF-1.4 verdieping 2")
    page.set_input_files("#id_composer_files", str(chosen))
    page.evaluate(DROP_FILE, ["traceroute.txt", "hop 1\nhop 2\n"])
    files = page.locator("[data-file-list] li")
    assert files.count() == 2
    assert "plattegrond.pdf" in files.nth(0).inner_text()
    assert "traceroute.txt" in files.nth(1).inner_text()
    page.check("#composer input[name=visibility][value=public]")
    page.select_option("#id_composer_status", Status.WAITING_FOR_CUSTOMER)
    shot(page, "composer-02-agent-composes")
    page.click("#composer button[type=submit]")
    page.wait_for_selector("#waiting-banner")

    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_FOR_CUSTOMER
    update = TicketUpdate.objects.get(ticket=ticket)
    assert update.body == f"Beste Anna, over {ticket.number}: op welke verdieping?"
    names = sorted(a.original_name for a in Attachment.objects.filter(update=update))
    assert names == ["plattegrond.pdf", "traceroute.txt"]
    # newest first: the reply and its files open the timeline
    timeline = page.locator("#ticket-activity ol.timeline").inner_text().lower()
    assert "plattegrond.pdf" in timeline and "traceroute.txt" in timeline
    assert timeline.index("op welke verdieping?") < timeline.index("heeft de melding opgepakt")
    shot(page, "composer-03-agent-sent")

    # keyboard: "?" opens the shortcut help, Escape closes it, "r" goes to the reply
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("?")
    assert page.locator("#shortcut-help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#shortcut-help").is_visible()
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.name") == "body"
    context.close()
    assert Ticket.objects.get(pk=ticket.pk).status == Status.WAITING_FOR_CUSTOMER
