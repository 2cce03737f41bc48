"""Exports in a real browser (issue 17 item 4): an authorised contact filters their list on a
phone-sized screen and downloads it as CSV; a large export (threshold lowered) shows its
progress page, which notices by itself when the file is ready, and its download opens in
openpyxl. The browser's clock is Playwright's (page.clock), so no test waits for real time."""

import codecs
import csv
import io

import openpyxl
import pytest

from pim.models import Role
from tests.conftest import make_user
from tests.e2e.test_incident_flow import login
from tests.sla.conftest import contracts, policy  # noqa: F401 - fixtures
from tickets import services, tasks
from tickets.models import Export

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def file(reporter, title, priority=3):
    return services.create_ticket(actor=reporter, title=title, description="d", priority=priority)


@pytest.fixture
def world(contracts, acme, globex):  # noqa: F811 - the fixture imported above
    contact = make_user("acme.contact", Role.AUTHORISED_CONTACT, acme, language="nl")
    colleague = make_user("acme.user", Role.CUSTOMER_USER, acme, language="nl")
    other = make_user("globex.user", Role.CUSTOMER_USER, globex, language="nl")
    printers = [file(colleague, f"Printer {i} =storing") for i in range(3)]
    file(colleague, "Telefonie valt weg")
    file(other, "Printer in Rotterdam")  # Globex: never in Acme's export
    return {"contact": contact, "printers": printers}


def test_a_contact_downloads_the_filtered_list_as_csv_on_a_phone(page, shot, world):
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "acme.contact")
    page.goto("/tickets/?state=all")
    page.locator("details.pim-filter-panel > summary").click()
    page.fill("form.pim-filters input[name=q]", "Printer")
    page.click("form.pim-filters button[type=submit]")
    page.wait_for_url("**/tickets/?state=all&q=Printer")
    button = page.get_by_role("button", name="CSV")
    assert button.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows
    shot(page, "export-buttons-390")
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename.startswith("tickets-")
    raw = open(download.path(), "rb").read()  # noqa: SIM115 - read once
    assert raw.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0][:3] == ["Nummer", "Titel", "Soort"]
    # the page's rows, newest first; Globex's printer and Acme's phone ticket are not there
    expected = [t.number for t in reversed(world["printers"])]
    assert [r[0] for r in rows[1:]] == expected
    assert {r[1] for r in rows[1:]} == {f"Printer {i} =storing" for i in range(3)}
    assert "Behandelaar" not in rows[0]  # the assignee is internal


def test_a_large_export_shows_its_progress_and_its_download(page, shot, world, settings):
    settings.EXPORT_DIRECT_MAX_ROWS = 2  # Acme's four tickets are a large export here
    page.set_viewport_size({"width": 1366, "height": 900})
    page.clock.install()
    login(page, "acme.contact")
    page.goto("/tickets/?state=all")
    page.get_by_role("button", name="Excel").click()
    page.wait_for_url("**/exports/*/")
    export = Export.objects.get()
    assert page.locator("#export-progress").get_attribute("data-status") == "pending"
    assert page.locator("#export-download").count() == 0
    shot(page, "export-waiting")

    tasks.write_export(export.pk)  # the worker's part, in this thread
    page.clock.run_for("00:03")  # the page asks for its progress again
    page.wait_for_selector("#export-download")
    assert page.locator("#export-progress").get_attribute("data-status") == "done"
    shot(page, "export-ready")
    with page.expect_download() as info:
        page.click("#export-download")
    book = openpyxl.load_workbook(io.BytesIO(info.value.path().read_bytes()))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 1 + 4
    assert {r[rows[0].index("Organisatie")] for r in rows[1:]} == {"Acme Zorg"}

    page.goto("/exports/")
    assert page.locator(f"a[href='/exports/{export.pk}/']").count() == 1
