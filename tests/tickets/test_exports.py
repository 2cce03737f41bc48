"""Exports of the ticket lists as CSV and XLSX (issue 17 item 4, tickets/exports.py): the rows
are the list's (same filters, order and scope), customers get no internal field, formulas are
neutralised, and a large export is written in the background with its progress, for its owner
only, until the daily cleanup removes it."""

import codecs
import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from freezegun import freeze_time

from pim.models import Role
from tests.conftest import make_user
from tickets import services, tasks
from tickets.models import Export, ExportStatus

AMS = ZoneInfo("Europe/Amsterdam")
pytestmark = pytest.mark.django_db


def at(*a):
    return datetime(*a, tzinfo=AMS)


def body(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def read_csv(response):
    raw = body(response)
    assert raw.startswith(codecs.BOM_UTF8)  # Excel reads the accents right
    text = raw.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def read_xlsx(response):
    book = openpyxl.load_workbook(io.BytesIO(body(response)))
    sheet = book.worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)], sheet


def page_numbers(response):
    return [t.number for t in response.context["page"]]


@pytest.fixture
def login(client, users):
    def _login(username):
        client.force_login(users[username])
        return client

    return _login


@pytest.fixture
def world(contracts, users, globex):
    """Tickets of both organisations at several priorities and statuses; one assigned."""
    made = {}
    for i, (who, priority) in enumerate(
        [("acme.user", 1), ("acme.user", 2), ("acme.user2", 3), ("acme.contact", 4),
         ("globex.user", 1), ("globex.user", 3), ("acme.user", 3), ("globex.contact", 2)]
    ):  # fmt: skip
        with freeze_time(at(2026, 3, 2, 9, 0) + timedelta(minutes=7 * i)):
            made[i] = services.create_ticket(
                actor=users[who], title=f"Storing {i} ünïcødé", description="d", priority=priority
            )
    with freeze_time(at(2026, 3, 2, 11, 0)):
        services.take(made[0], users["agent"])
    return made


# --- the rows are the list's ------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "priority=1&priority=2",
        "sort=reported_at&dir=asc",
        "sort=priority&dir=desc&status=all",
        "organization={acme}&sort=number",
        "search=Storing 3",
        "kind=incident&assignee=unassigned&sort=status",
    ],
)
def test_the_queue_export_holds_the_queue_rows_in_its_order(login, world, acme, query):
    client = login("agent")
    query = query.format(acme=acme.pk)
    page = client.get(f"/queue/?{query}")
    assert page.status_code == 200
    expected = page_numbers(page)
    assert expected  # the filter finds something
    response = client.get(f"/queue/export/?{query}&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="queue-')
    rows = read_csv(response)
    assert rows[0][:3] == ["Number", "Title", "Kind"]
    assert [r[0] for r in rows[1:]] == expected


def test_the_queue_buttons_carry_the_current_filters(login, world):
    response = login("agent").get("/queue/?priority=1&sort=reported_at&page=1")
    html = response.content.decode()
    assert 'href="/queue/export/?priority=1&amp;sort=reported_at&amp;format=csv"' in html
    assert 'href="/queue/export/?priority=1&amp;sort=reported_at&amp;format=xlsx"' in html
    assert 'href="/exports/"' in html  # the large ones, written in the background, are there


def test_an_authorised_contact_exports_only_their_organisation(login, world, acme):
    client = login("acme.contact")
    page = client.get("/tickets/?state=all")
    expected = page_numbers(page)
    assert 'href="/tickets/export/?state=all&amp;format=csv"' in page.content.decode()
    rows = read_csv(client.get("/tickets/export/?state=all&format=csv"))
    assert [r[0] for r in rows[1:]] == expected
    organisation = rows[0].index("Organisation")
    assert {r[organisation] for r in rows[1:]} == {"Acme Zorg"}
    assert len(rows) - 1 == 5  # Acme's five tickets, none of Globex's


def test_a_dashboard_drill_down_exports_exactly_its_tickets(login, world, acme):
    """The customer list a dashboard figure opens (TicketFilter's drill-down names) exports
    the same rows, and its buttons carry those names."""
    client = login("acme.contact")
    query = "state=all&reported=2026-03&priority=3"
    page = client.get(f"/tickets/?{query}")
    assert page.status_code == 200
    expected = page_numbers(page)
    assert sorted(expected) == sorted(world[i].number for i in (2, 6))  # Acme's two P3s
    assert (
        'href="/tickets/export/?state=all&amp;reported=2026-03&amp;priority=3&amp;format=csv"'
        in (page.content.decode())
    )
    rows = read_csv(client.get(f"/tickets/export/?{query}&format=csv"))
    assert [r[0] for r in rows[1:]] == expected
    assert client.get("/tickets/export/?reported=2026-13&format=csv").status_code == 400


def test_a_customer_user_exports_their_own_tickets(login, world, users):
    rows = read_csv(login("acme.user").get("/tickets/export/?state=all&format=csv"))
    own = {t.number for t in world.values() if t.reporter == users["acme.user"]}
    assert {r[0] for r in rows[1:]} == own


def test_a_customer_export_holds_no_internal_field(login, world, users):
    users["agent"].first_name, users["agent"].last_name = "Inge", "Intern"
    users["agent"].save()
    services.add_update(world[0], users["agent"], "Internal qx9 note", visibility="internal")
    for fmt in ("csv", "xlsx"):
        response = login("acme.contact").get(f"/tickets/export/?state=all&format={fmt}")
        rows = read_csv(response) if fmt == "csv" else read_xlsx(response)[0]
        assert "Assignee" not in rows[0]
        flat = " ".join(str(v) for row in rows for v in row)
        assert "Intern" not in flat and "qx9" not in flat
    staff = read_csv(login("agent").get("/tickets/export/?state=all&format=csv"))
    assignee = staff[0].index("Assignee")
    assert [r[assignee] for r in staff[1:] if r[0] == world[0].number] == ["Inge Intern"]


def test_the_search_export_holds_the_search_results(login, world):
    client = login("acme.contact")
    expected = page_numbers(client.get("/search/?q=Storing"))
    rows = read_csv(client.get("/search/export/?q=Storing&format=csv"))
    assert [r[0] for r in rows[1:]] == expected and len(expected) == 5


def test_headers_and_values_in_the_viewers_language(login, world, users):
    users["acme.contact"].language = "nl"
    users["acme.contact"].save()
    rows = read_csv(login("acme.contact").get("/tickets/export/?state=all&format=csv"))
    assert rows[0][:4] == ["Nummer", "Titel", "Soort", "Status"]
    reported, state = rows[0].index("Gemeld op"), rows[0].index("SLA-status")
    newest = world[6]  # acme's newest ticket leads the list
    assert rows[1][0] == newest.number
    with translation.override("nl"):
        assert rows[1][3] == newest.get_status_display() != "New"
    assert rows[1][state] in {"Lopend", "Risico", "Gehaald", "Overschreden"}
    assert rows[1][reported] == newest.reported_at.astimezone(AMS).strftime("%Y-%m-%d %H:%M")


# --- the files ----------------------------------------------------------------------------------

HOSTILE_TITLES = [
    '=HYPERLINK("http://evil")',
    "+31 6 1234",
    "-2+3",
    "@SUM(A1)",
    "-cmd|' /C calc'!A0",
]


def test_formulas_are_neutralised_in_csv_and_xlsx(login, contracts, users):
    for title in HOSTILE_TITLES:
        services.create_ticket(actor=users["acme.user"], title=title, description="d", priority=3)
    client = login("acme.contact")
    rows = read_csv(client.get("/tickets/export/?format=csv"))
    assert sorted(r[1] for r in rows[1:]) == sorted("'" + t for t in HOSTILE_TITLES)
    sheet_rows, sheet = read_xlsx(client.get("/tickets/export/?format=xlsx"))
    assert sorted(r[1] for r in sheet_rows[1:]) == sorted("'" + t for t in HOSTILE_TITLES)
    assert all(cell.data_type == "s" for cell in next(sheet.iter_cols(min_col=2, max_col=2)))


def test_the_xlsx_opens_and_holds_the_rows(login, world):
    client = login("agent")
    expected = read_csv(client.get("/queue/export/?status=all&format=csv"))
    response = client.get("/queue/export/?status=all&format=xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows, _sheet = read_xlsx(response)
    assert rows[0] == expected[0]
    assert [r[0] for r in rows[1:]] == [r[0] for r in expected[1:]]
    reported, priority = rows[0].index("Reported at"), rows[0].index("Priority")
    first = next(t for t in world.values() if t.number == rows[1][0])
    assert rows[1][reported] == first.reported_at.astimezone(AMS).replace(tzinfo=None)
    assert rows[1][priority] == first.priority  # a number


def test_the_export_reads_a_constant_number_of_queries(login, contracts, users):
    client = login("agent")

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            rows = read_csv(client.get("/queue/export/?status=all&format=csv"))
        return len(ctx.captured_queries), len(rows) - 1

    for i in range(3):
        services.create_ticket(actor=users["acme.user"], title=f"t{i}", description="d")
    few, n = queries()
    for i in range(30):
        services.create_ticket(actor=users["globex.user"], title=f"u{i}", description="d")
    many, m = queries()
    assert (n, m) == (3, 33)
    assert many == few <= 8


# --- refused --------------------------------------------------------------------------------

HOSTILE_QUEUE = [
    "format=pdf",
    "format=csv&priority=9",
    "format=csv&organization=abc",
    "format=csv&organization=999999",
    "format=csv&reported_after=garbage",
    "format=csv&sort=evil",
    "format=csv&dir=sideways",
    "format=csv&assignee=../",
    "format=csv&sla_state=" + "x" * 300,
    "format=csv&search=" + "x" * 5000,
    "format=csv&status=<script>",
    "format=csv&kind=%C2%B2",
    "format=csv&search=" + "x" * 150 + "&status=all" * 300,
]


@pytest.mark.parametrize("query", HOSTILE_QUEUE)
def test_hostile_queue_params_answer_400(login, world, query):
    response = login("agent").get(f"/queue/export/?{query}")
    assert response.status_code == 400
    assert not Export.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/tickets/export/?state=evil&format=csv",
        "/tickets/export/?q=" + "x" * 5000,
        "/tickets/export/?format=xls",
        "/search/export/?q=" + "x" * 5000,
        "/tickets/export/?format=%00",
    ],
)
def test_hostile_list_params_answer_400(login, world, url):
    assert login("acme.contact").get(url).status_code == 400


def test_the_queue_export_is_staff_only(login, world):
    assert login("acme.contact").get("/queue/export/?format=csv").status_code == 404


# --- the background path ------------------------------------------------------------------------


@pytest.fixture
def large(settings, world):
    """A lowered threshold: the world's eight tickets are a large export."""
    settings.EXPORT_DIRECT_MAX_ROWS = 3
    settings.EXPORT_CHUNK_ROWS = 2
    return world


def progress_of(export_pk):
    """Every state the export row passes through while its task runs: read after each write of
    the row (a real execute wrapper on the connection, no mock)."""
    seen = []

    def watch(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith('UPDATE "tickets_export"'):
            seen.append(
                Export.objects.values_list("status", "rows_done", "rows_total").get(pk=export_pk)
            )
        return result

    return seen, watch


def test_a_large_export_runs_in_the_background_with_progress(
    login, large, eager_tasks, django_capture_on_commit_callbacks, users
):
    client = login("agent")
    expected = page_numbers(client.get("/queue/?status=all&sort=reported_at&dir=asc"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.get("/queue/export/?status=all&sort=reported_at&dir=asc&format=csv")
    export = Export.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exports/{export.pk}/"
    assert (export.owner, export.list, export.format) == (users["agent"], "queue", "csv")
    assert export.query == "status=all&sort=reported_at&dir=asc"
    assert export.expires_at == export.created_at + timedelta(days=7)

    waiting = client.get(f"/exports/{export.pk}/")
    assert waiting.status_code == 200
    html = waiting.content.decode()
    assert 'hx-trigger="every 2s"' in html and "export-download" not in html

    seen, watch = progress_of(export.pk)
    with connection.execute_wrapper(watch):
        for callback in callbacks:
            callback()  # the task, executed in this thread (eager)
    done = [d for _s, d, _t in seen]
    assert seen[-1] == ("done", 8, 8)
    assert done[0] == 0 and done == sorted(done)  # from 0 up to the total
    assert {2, 4, 6} <= set(done)  # a step after every chunk
    assert all(t == 8 for _s, _d, t in seen if t is not None)

    fragment = client.get(f"/exports/{export.pk}/", HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in fragment.content.decode()  # done: the polling stops
    assert f'href="/exports/{export.pk}/download/"' in fragment.content.decode()
    download = client.get(f"/exports/{export.pk}/download/")
    assert download["Content-Disposition"].startswith('attachment; filename="queue-')
    rows = read_csv(download)
    assert [r[0] for r in rows[1:]] == expected and len(expected) == 8
    listed = client.get("/exports/")
    assert f"/exports/{export.pk}/" in listed.content.decode()

    # somebody else: 404 everywhere, and not in their list
    other = make_user("agent2", Role.AGENT)
    client.force_login(other)
    for url in (f"/exports/{export.pk}/", f"/exports/{export.pk}/download/"):
        assert client.get(url).status_code == 404
    assert f"/exports/{export.pk}/" not in client.get("/exports/").content.decode()

    # the task again (a redelivery) changes nothing
    tasks.write_export(export.pk)
    export.refresh_from_db()
    assert (export.status, export.rows_done) == (ExportStatus.DONE, 8)


def test_a_large_xlsx_export_of_an_authorised_contact(
    login, large, eager_tasks, django_capture_on_commit_callbacks
):
    client = login("acme.contact")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get("/tickets/export/?state=all&format=xlsx")
    export = Export.objects.get()
    assert response["Location"] == f"/exports/{export.pk}/"
    export.refresh_from_db()
    assert (export.status, export.rows_total) == (ExportStatus.DONE, 5)
    rows, _sheet = read_xlsx(client.get(f"/exports/{export.pk}/download/"))
    assert {r[rows[0].index("Organisation")] for r in rows[1:]} == {"Acme Zorg"}
    assert "Assignee" not in rows[0]


def test_a_user_has_a_bounded_number_of_running_exports(login, large, settings):
    settings.EXPORT_MAX_ACTIVE = 2
    client = login("agent")
    for _ in range(2):
        assert client.get("/queue/export/?status=all").status_code == 302
    response = client.get("/queue/export/?status=all")
    assert response["Location"] == "/exports/"
    assert Export.objects.count() == 2


def test_an_export_whose_filters_no_longer_hold_fails_with_the_reason(
    login, large, eager_tasks, django_capture_on_commit_callbacks, acme
):
    client = login("agent")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.get(f"/queue/export/?status=all&organization={acme.pk}&format=csv")
    export = Export.objects.get()
    Export.objects.filter(pk=export.pk).update(query="status=all&organization=999999")
    for callback in callbacks:
        callback()
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED and "Organisation" in export.error
    page = client.get(f"/exports/{export.pk}/").content.decode()
    assert "The export failed" in page


# --- expiry ------------------------------------------------------------------------------------


def test_the_daily_cleanup_removes_exports_older_than_seven_days(
    users, django_capture_on_commit_callbacks
):
    def make(created):
        with freeze_time(created):
            export = Export.objects.create(
                owner=users["agent"], list="queue", format="csv", language="en",
                status=ExportStatus.DONE, expires_at=created + timedelta(days=7),
            )  # fmt: skip
        export.file.save("queue.csv", ContentFile(b"x"))
        return export

    old, fresh = make(at(2026, 3, 1, 9, 0)), make(at(2026, 3, 5, 9, 0))
    assert default_storage.exists(old.file.name)
    with freeze_time(at(2026, 3, 8, 9, 1)), django_capture_on_commit_callbacks(execute=True):
        assert tasks.delete_expired_exports() == {"exports": 1}
    assert list(Export.objects.all()) == [fresh]
    assert not default_storage.exists(old.file.name)
    assert default_storage.exists(fresh.file.name)
    with freeze_time(at(2026, 3, 8, 9, 2)):
        assert tasks.delete_expired_exports() == {"exports": 0}


def test_an_expired_export_is_gone_before_the_cleanup_runs(client, users):
    with freeze_time(at(2026, 3, 1, 9, 0)):
        export = Export.objects.create(
            owner=users["agent"], list="queue", format="csv", language="en",
            status=ExportStatus.DONE, expires_at=at(2026, 3, 8, 9, 0),
        )  # fmt: skip
    export.file.save("queue.csv", ContentFile(b"x"))
    client.force_login(users["agent"])
    with freeze_time(at(2026, 3, 8, 9, 1)):
        assert client.get(f"/exports/{export.pk}/download/").status_code == 404
        assert client.get(f"/exports/{export.pk}/").status_code == 404


def test_the_export_routes_are_named():
    assert reverse("export-list") == "/exports/"
    assert reverse("ticket-list-export") == "/tickets/export/"
