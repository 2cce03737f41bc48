"""Phone and desktop layouts, and axe-core, on every page each role reaches (issue 15, items 5
and 8), in a real browser (headless Debian Chromium).

The pages are the project's URL patterns (the tenant sweep's routes, filled with organisation
B's objects, as the language-leak test does), kept where the role gets a 200 HTML page: a new
page is checked without touching this file. Each is visited at 1366×900 and at 390×844, in
Dutch, and for the agent also in English, and must

- not be wider than the viewport (document.documentElement.scrollWidth; a wide table scrolls
  inside its own .table-scroll box, never the page);
- show no serious or critical axe-core violation (axe-core is vendored under static/vendor and
  injected here only: the test routes a same-origin URL to the file, so the page's strict CSP
  stays on and nothing serves axe to users);
- at 1366 px, show ticket lists whole (no inner scrolling) with titles at least 12rem wide;
- show every visible field's placeholder whole (a hint cut to "Nummer, woor" helps nobody);
- at 390 px, fold the header behind its menu button, which opens the menu with the language and
  logout controls.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.e2e.conftest import ARTIFACTS, authenticator_code
from tests.test_language_leak import page_urls
from tests.test_tenant_sweep import body_of
from tests.test_tenant_sweep import org_b as org_b  # a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

AXE = next((Path(settings.BASE_DIR) / "static/vendor").glob("axe-core-*/axe.min.js"))
AXE_URL = "/__axe-core-for-tests__.js"  # routed to the file by the browser, never by the app
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# One of each kind of reader: customer user, authorised contact, agent, manager (director).
ROLES = ["globex.user", "globex.contact", "agent", "director"]
STAFF = {"agent", "director"}
ENGLISH_TOO = {"globex.contact"}
SERIOUS = ("serious", "critical")

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => ["serious", "critical"].includes(v.impact))
    .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: "
                    + n.failureSummary.replace(/\\s+/g, " ").slice(0, 240))}));
}"""

# Ticket lists at 1366 px: the table needs no inner scrolling and titles keep their room.
DESKTOP_TABLES = """() => {
  const problems = [];
  document.querySelectorAll(".table-scroll:has(table.pim-cards)").forEach((box) => {
    if (box.scrollWidth > box.clientWidth + 1)
      problems.push(`table ${box.scrollWidth}px wide in a ${box.clientWidth}px box`);
  });
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
  document.querySelectorAll("table.pim-cards td.pim-title-cell").forEach((cell) => {
    const width = cell.getBoundingClientRect().width;
    if (width < 12 * rem) problems.push(`title cell only ${Math.round(width)}px wide`);
  });
  return [...new Set(problems)];
}"""


def pages_of(username, users, objects):
    """The HTML pages the role opens (200), read with the test client (quick, in-process)."""
    client = Client()
    client.force_login(users[username])
    found = []
    for url in page_urls(objects):
        response = client.get(url)
        body_of(response)  # reads (and so closes) a streamed body
        if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
            found.append(url)
    return found


def login(page, username, device=None):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("form:has(input[name=password]) button[type=submit]")
    if device is not None:
        page.wait_for_url(re.compile(r"/account/two-factor/verify/"))
        page.fill("input[name=code]", authenticator_code(device.bin_key))
        page.click("form:has(input[name=code]) button[type=submit]")
    page.wait_for_url(re.compile(r"/(tickets|queue)/"))


def logout(page):
    page.set_viewport_size(DESKTOP)
    page.locator("form[action$='/logout/'] button").click()
    page.wait_for_url(re.compile(r"/accounts/"))


# Placeholders that do not fit their field: the text's width in the field's font against the
# field's content box (a search box keeps room for its clear button, about 1.2em in Chromium).
CUT_PLACEHOLDERS = """() => {
  const problems = [];
  const context = document.createElement("canvas").getContext("2d");
  document.querySelectorAll("input[placeholder], textarea[placeholder]").forEach((field) => {
    if (!field.placeholder || field.value || !field.checkVisibility()) return;
    const style = getComputedStyle(field);
    context.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const clear = field.type === "search" ? 1.2 * parseFloat(style.fontSize) : 0;
    const need = context.measureText(field.placeholder).width + clear;
    const room = field.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    if (need > room + 0.5)
      problems.push(`placeholder "${field.placeholder}" of ${field.id || field.name} needs `
                    + `${Math.ceil(need)}px, its field has ${Math.floor(room)}px`);
  });
  return problems;
}"""


def check_page(page, where, viewport):
    """What is wrong with the page in view: width, axe-core, desktop tables."""
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > viewport["width"]:
        problems.append(f"{where}: page is {width}px wide")
    if not page.evaluate("typeof axe !== 'undefined'"):  # once per visit, not per viewport
        page.add_script_tag(url=AXE_URL)
    for v in page.evaluate(AXE_RUN):
        nodes = "\n      ".join(v["nodes"])
        problems.append(f"{where}: axe {v['impact']} {v['id']}: {v['help']}\n      {nodes}")
    if viewport is DESKTOP:
        problems.extend(f"{where}: {p}" for p in page.evaluate(DESKTOP_TABLES))
    problems.extend(f"{where}: {p}" for p in page.evaluate(CUT_PLACEHOLDERS))
    if problems:
        name = re.sub(r"[^\w.-]+", "_", where)[:120]
        page.screenshot(path=str(ARTIFACTS / f"layout-{name}.png"), full_page=True)
    return problems


def check_phone_menu(page, where):
    """At 390 px the header folds behind its menu button, which opens and closes it."""
    problems = []
    button = page.locator(".pim-menu-button")
    logout_button = page.locator("form[action$='/logout/'] button")
    language = page.locator("button[name=language]").first
    if not button.is_visible() or logout_button.is_visible():
        return [f"{where}: the header is not folded behind a menu button"]
    if button.get_attribute("aria-expanded") != "false":
        problems.append(f"{where}: the folded menu button says aria-expanded != false")
    button.click()
    if button.get_attribute("aria-expanded") != "true":
        problems.append(f"{where}: the open menu button says aria-expanded != true")
    if not (logout_button.is_visible() and language.is_visible()):
        problems.append(f"{where}: the open menu shows no logout or language controls")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        problems.append(f"{where}: the open menu makes the page {width}px wide")
    page.keyboard.press("Escape")
    if logout_button.is_visible() or button.get_attribute("aria-expanded") != "false":
        problems.append(f"{where}: Escape does not fold the menu")
    return problems


def check_without_scripts(page, base_url, url="/tickets/"):
    """Without JavaScript the phone's header menu simply stays open: no hidden controls."""
    context = page.context.browser.new_context(
        base_url=base_url, java_script_enabled=False, viewport=PHONE
    )
    try:
        bare = context.new_page()
        login(bare, "globex.user")
        bare.goto(url)
        problems = []
        if bare.locator(".pim-menu-button").is_visible():
            problems.append(f"no script 390px {url}: a menu button that cannot work is shown")
        if not bare.locator("form[action$='/logout/'] button").is_visible():
            problems.append(f"no script 390px {url}: the logout button is hidden")
        width = bare.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            problems.append(f"no script 390px {url}: page is {width}px wide")
        return problems
    finally:
        context.close()


def test_every_page_fits_phone_and_desktop_and_passes_axe(page, live_server, users, org_b):
    _ticket, objects, _markers = org_b
    page.context.route(
        f"**{AXE_URL}", lambda route: route.fulfill(path=str(AXE), content_type="text/javascript")
    )
    problems, checked = [], 0
    for username in ROLES:
        user = users[username]
        user.language = "nl"
        user.save(update_fields=["language"])
        urls = pages_of(username, users, objects)
        assert len(urls) >= 10, f"{username} reaches only {urls}"
        device = None
        if username in STAFF:
            device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        page.set_viewport_size(DESKTOP)
        login(page, username, device)
        for language in ["nl", "en"] if username in ENGLISH_TOO else ["nl"]:
            if language == "en":
                page.set_viewport_size(DESKTOP)
                page.locator("button[name=language][value=en]").click()
                page.wait_for_load_state()
                assert page.locator("html").get_attribute("lang") == "en"
            for url in urls:
                page.set_viewport_size(DESKTOP)
                page.goto(url)
                for viewport in (DESKTOP, PHONE):  # one visit, then the phone's width
                    page.set_viewport_size(viewport)
                    where = f"{username} {language} {viewport['width']}px {url}"
                    problems.extend(check_page(page, where, viewport))
                    checked += 1
            problems.extend(check_phone_menu(page, f"{username} {language} 390px {urls[0]}"))
        if username in ENGLISH_TOO:
            page.set_viewport_size(DESKTOP)
            page.locator("button[name=language][value=nl]").click()
            page.wait_for_load_state()
        logout(page)
    assert checked >= 4 * 2 * 10
    problems.extend(check_without_scripts(page, live_server.url))
    assert not problems, f"{len(problems)} layout/accessibility problems:\n" + "\n".join(problems)


def test_the_organisation_list_shows_its_widest_rows_whole_on_a_desktop(page, users, acme):
    """Seen in Chromium on the demo data: the authorised contact's list (eight columns, with the
    reporter) ran 64 px past its box at 1366 px and cut the reported date off, because an
    overdue countdown and the reported date each had to stay on one line. The widest cells of
    each column: a planned status, an overdue countdown with its target, a reporter's full
    name, the date and time."""
    from datetime import timedelta

    from django.utils import timezone
    from freezegun import freeze_time

    from tickets import services

    contact, agent = users["acme.contact"], users["agent"]
    contact.first_name, contact.last_name, contact.language = "Anna", "de Vries", "nl"
    contact.save()
    with freeze_time(timezone.now() - timedelta(days=10, hours=5, minutes=17)):
        for title, priority in [
            ("Doorschakeling naar mobiel instellen werkt niet", 1),
            ("Telefooncentrale onbereikbaar, niemand kan bellen", 2),
        ]:
            ticket = services.create_ticket(
                actor=contact,
                title=title,
                description="Sinds vanochtend.",
                priority=priority,
                service=acme.services.get(),
            )
            services.transition(ticket, agent, "planned_internal")
    page.set_viewport_size(DESKTOP)
    login(page, "acme.contact")
    page.goto("/tickets/")
    assert page.locator("table.pim-cards .badge.s-planned_internal").count() == 2
    overdue = page.locator("table.pim-cards .sla-left", has_text="te laat")
    assert overdue.count() == 2  # each countdown on one line, its target under it
    assert page.evaluate(DESKTOP_TABLES) == []
