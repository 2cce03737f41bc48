"""Exports of the ticket lists as CSV and XLSX (issue 17 item 4): the agent queue, the customer's
list and the search results, with exactly the list's filters and ordering in the viewer's scope
(the rows come from tickets/lists.py, the pages' own builders), headers and values in the
viewer's language.

Up to `EXPORT_DIRECT_MAX_ROWS` rows the download is answered at once, streamed; above it an
`Export` row is written and `tickets.tasks.write_export` writes the file in chunks of
`EXPORT_CHUNK_ROWS`, recording its progress; only the owner sees it, for `EXPORT_KEEP_DAYS` days.
That background path (start, claim, run, the relay, the cleanup) is `tickets/export_jobs.py`.

The files:
- CSV: UTF-8 with a byte order mark (Excel reads the accents right), `;` as the separator
  (what Excel expects in the Dutch locale, which the portal speaks by default; an export holds
  no decimal numbers, so nothing else depends on it), CRLF line ends, quoted where needed.
  Instants are local time (Europe/Amsterdam) as `YYYY-MM-DD HH:MM`.
- XLSX: one sheet, written with openpyxl's write-only mode; instants are date cells in local
  time, the priority a number.
- A text that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or
  a carriage return) is prefixed with `'` in both (CSV/formula injection, OWASP); characters
  XLSX cannot hold (control characters) are dropped there.
- The rows are read in chunks (`.iterator()`, the related rows joined: a constant number of
  queries), on the read replica when one is configured.
- The columns (`columns(user)`): number, title, kind, status, priority, organisation, reporter,
  assignee (provider staff only: customers never get internal fields), service, location,
  reported at, resolved at, next due, SLA state (a live clock past its due time counts as
  breached, as the lists' filter has it).
"""

import codecs
import csv
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from pim.permissions import is_provider_staff
from pim.routers import replica_reads
from pim.scoping import user_scope

from . import lists
from .models import Export, ExportFormat, ExportList

# --- which list, which rows -------------------------------------------------------------------

LISTS = {
    ExportList.QUEUE: (lists.queue_rows, lists.QUEUE_PARAMS),
    ExportList.TICKETS: (lists.customer_rows, lists.CUSTOMER_PARAMS),
    ExportList.SEARCH: (lists.search_rows, lists.SEARCH_PARAMS),
}
QUERY_MAX = Export._meta.get_field("query").max_length


class ExportRefused(ValueError):
    """The request cannot be exported as asked (the view answers 400 with these messages)."""

    def __init__(self, messages):
        super().__init__("; ".join(str(m) for m in messages))
        self.messages = [str(m) for m in messages]


def list_query(list_name, params) -> str:
    """The list's own query names and values of `params` (a QueryDict), as a query string: what
    an `Export` keeps and its task rebuilds the rows from."""
    _build, names = LISTS[list_name]
    pairs = [(name, value) for name in names for value in params.getlist(name) if value != ""]
    query = urlencode(pairs)
    if len(query) > QUERY_MAX:
        raise ExportRefused([_("These filters are too long to export.")])
    return query


def export_rows(user, list_name, query, request=None):
    """The rows of the list for `user` with `query`, ordered as the page orders them. Invalid
    filters (which the page ignores and shows) refuse the export: it must be what was asked."""
    build, _names = LISTS[list_name]
    found = build(user, QueryDict(query), request)
    if found.errors:
        raise ExportRefused(
            [f"{_field_label(found.form, name)}: {error}" for name, errs in found.errors.items()
             for error in errs]
        )  # fmt: skip
    return found.rows


def _field_label(form, name):
    field = form.fields.get(name)
    return field.label if field is not None and field.label else name


def parse_format(value) -> str:
    value = value or ExportFormat.CSV
    if value not in ExportFormat.values:
        raise ExportRefused([_("Choose CSV or Excel (xlsx) as the format.")])
    return value


# --- the columns ------------------------------------------------------------------------------

SLA_STATES = {
    "pending": _("Pending"),
    "at_risk": _("At risk"),
    "met": _("Met"),
    "breached": _("Breached"),
}


def _person(user):
    return (user.get_full_name() or user.username) if user is not None else ""


def _sla_state(ticket, now):
    if ticket.next_due_at is not None and ticket.next_due_at <= now:
        return str(SLA_STATES["breached"])
    return str(SLA_STATES.get(ticket.sla_state, ticket.sla_state or ""))


@dataclass(frozen=True)
class Column:
    key: str
    header: object  # a lazy text: the header in the language active when it is written
    value: object  # (ticket, now) -> str, int, aware datetime or None


COMMON = [
    Column("number", _("Number"), lambda t, now: t.number),
    Column("title", _("Title"), lambda t, now: t.title),
    Column("kind", _("Kind"), lambda t, now: t.get_kind_display()),
    Column("status", _("Status"), lambda t, now: t.get_status_display()),
    Column("priority", _("Priority"), lambda t, now: t.priority),
    Column("organization", _("Organisation"), lambda t, now: t.organization.name),
    Column("reporter", _("Reporter"), lambda t, now: _person(t.reporter)),
]
STAFF = [Column("assignee", _("Assignee"), lambda t, now: _person(t.assignee))]
REST = [
    Column("service", _("Service"), lambda t, now: t.service.name if t.service else ""),
    Column("location", _("Location"), lambda t, now: t.location.name if t.location else ""),
    Column("reported_at", _("Reported at"), lambda t, now: t.reported_at),
    Column("resolved_at", _("Resolved at"), lambda t, now: t.resolved_at),
    Column("next_due", _("Next due"), lambda t, now: t.next_due_at),
    Column("sla_state", _("SLA state"), _sla_state),
]


def columns(user) -> list[Column]:
    """The export's columns for `user`: the assignee is internal (provider staff only)."""
    return COMMON + (STAFF if is_provider_staff(user) else []) + REST


# --- cells ------------------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A text a spreadsheet would read as a formula, as a plain text."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _local(value: datetime) -> datetime:
    return timezone.localtime(value).replace(tzinfo=None)


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{_local(value):%Y-%m-%d %H:%M}"
    if isinstance(value, int):
        return str(value)
    return neutralise(str(value))


def _xlsx_value(value):
    if isinstance(value, datetime):
        return _local(value)
    if isinstance(value, int) or value is None:
        return value
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", str(value)))


# --- writing ----------------------------------------------------------------------------------


class _Line:
    """csv.writer's file: hands back each line it writes (the streaming response's chunks)."""

    def write(self, value):
        return value


def _tickets(rows):
    """The rows in chunks, read on the replica when one is configured (pim/routers.py)."""
    with replica_reads():
        db = rows.db
    return rows.using(db).iterator(chunk_size=settings.EXPORT_CHUNK_ROWS)


def stream_csv(user, language, rows):
    """The CSV as bytes chunks, for a streaming response: the rows are read while the response
    is sent (after the view returned), so the user's scope and language are set here again."""
    with user_scope(user), translation.override(language):
        cols = columns(user)
        writer = csv.writer(_Line(), delimiter=";", lineterminator="\r\n")
        now = timezone.now()
        buffer = [codecs.BOM_UTF8.decode("utf-8"), writer.writerow([str(c.header) for c in cols])]
        for ticket in _tickets(rows):
            buffer.append(writer.writerow([csv_cell(c.value(ticket, now)) for c in cols]))
            if len(buffer) >= 200:
                yield "".join(buffer).encode("utf-8")
                buffer = []
        yield "".join(buffer).encode("utf-8")


def write_csv(out, user, rows, progress=None) -> int:
    """The CSV into the binary file `out`; `progress(rows_done)` after every chunk."""
    text = codecs.getwriter("utf-8")(out)
    text.write(codecs.BOM_UTF8.decode("utf-8"))
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    cols = columns(user)
    writer.writerow([str(c.header) for c in cols])
    now, done = timezone.now(), 0
    for ticket in _tickets(rows):
        writer.writerow([csv_cell(c.value(ticket, now)) for c in cols])
        done += 1
        if progress and done % settings.EXPORT_CHUNK_ROWS == 0:
            progress(done)
    text.flush()
    return done


DATE_FORMAT = "yyyy-mm-dd hh:mm"


def write_xlsx(out, user, rows, progress=None) -> int:
    """The workbook into the binary file `out` (openpyxl's write-only mode: the rows are not
    kept in memory); `progress(rows_done)` after every chunk."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=str(_("Tickets"))[:31])
    cols = columns(user)
    sheet.append([str(c.header) for c in cols])
    now, done = timezone.now(), 0
    for ticket in _tickets(rows):
        cells = []
        for c in cols:
            value = _xlsx_value(c.value(ticket, now))
            if isinstance(value, datetime):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = DATE_FORMAT
                value = cell
            cells.append(value)
        sheet.append(cells)
        done += 1
        if progress and done % settings.EXPORT_CHUNK_ROWS == 0:
            progress(done)
    book.save(out)
    return done


WRITERS = {ExportFormat.CSV: write_csv, ExportFormat.XLSX: write_xlsx}
CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def filename(list_name, fmt, at=None):
    at = timezone.localtime(at or timezone.now())
    return f"{list_name}-{at:%Y%m%d-%H%M}.{fmt}"


def is_large(rows) -> bool:
    """More rows than a direct download answers (a LIMITed count stops there)."""
    limit = settings.EXPORT_DIRECT_MAX_ROWS
    return rows.order_by().values("pk")[: limit + 1].count() > limit
