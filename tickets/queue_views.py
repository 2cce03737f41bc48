"""The queue's views (issue 15): shared presets and each agent's own saved views, their counts
in one query, and the columns an agent chose.

A view is a query string of the queue (filters and sort), so opening one is a plain link and
the queue applies it with the same QueueFilter as any filter the agent sets by hand. The counts
run through the same filter (`QueueFilter.as_q`): one SELECT with a bounded count per view
(`SELECT COUNT(*) FROM (… LIMIT 1001)`, the portal's COUNT_BOUND), so a view over closed tickets
costs no more than one over the open ones at a million tickets.
"""

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode

from django.db import connections
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from pim.pagination import COUNT_BOUND

from .filters import DEFAULT_DIRECTION, DEFAULT_SORT, OPEN, QueueFilter
from .models import QueueColumns, QueueView, Status, Ticket

# The queue's query names a view keeps (filters and sort; not the page).
VIEW_PARAMS = (
    "status",
    "priority",
    "kind",
    "organization",
    "assignee",
    "search",
    "sla_state",
    "reported_after",
    "reported_before",
    "reported",
    "target",
    "outcome",
    "escalation",
    "rated",
    "service",
    "outage",
    "sort",
    "dir",
)
MAX_OWN_VIEWS = 20
NAME_MAX = QueueView._meta.get_field("name").max_length
QUERY_MAX = QueueView._meta.get_field("query").max_length


@dataclass
class View:
    key: str  # "p:<preset>" or "v:<pk>"
    name: str
    query: str
    own: QueueView | None = None
    count: int | None = None
    exact: bool = True
    active: bool = False


# The shared views every agent has (code, so their names follow the reader's language).
PRESETS = (
    ("all", _("All open"), ""),
    ("mine", _("My open"), "assignee=mine"),
    ("breached", _("Breached"), "sla_state=breached"),
    ("unassigned-urgent", _("Unassigned P1/P2"), "assignee=unassigned&priority=1&priority=2"),
    (
        "ours",
        _("Waiting on us"),
        urlencode(
            [
                ("status", Status.NEW),
                ("status", Status.PLANNED_INTERNAL),
                ("status", Status.RESPONSE_RECEIVED),
            ]
        ),
    ),
)


def normalise(data) -> str:
    """A query (QueryDict or string) as the view query string: only the view's names, in a
    fixed order, without empty values and without what the queue does by default (open
    tickets, the soonest deadline first), so the same view always reads the same."""
    if isinstance(data, str):
        data = QueryDict(data)
    values = {n: sorted({v for v in data.getlist(n) if v.strip()}) for n in VIEW_PARAMS}
    if values["status"] == [OPEN]:
        values["status"] = []
    sort = (values["sort"] or [DEFAULT_SORT])[0]
    if values["dir"] == [DEFAULT_DIRECTION.get(sort, "desc")]:
        values["dir"] = []
    if values["sort"] == [DEFAULT_SORT] and not values["dir"]:
        values["sort"] = []
    return urlencode([(name, value) for name in VIEW_PARAMS for value in values[name]])


def views_for(user, current=None) -> list[View]:
    """The presets and `user`'s own views; `current` (the request's query) marks the active."""
    views = [View(f"p:{key}", str(name), query) for key, name, query in PRESETS]
    views += [
        View(f"v:{v.pk}", v.name, v.query, own=v) for v in QueueView.objects.filter(owner=user)
    ]
    if current is not None:
        here = normalise(current)
        for view in views:
            view.active = normalise(view.query) == here
    return views


@lru_cache(maxsize=1024)
def _cleaned(query):
    """A view's valid filters (QueueFilter's cleaned data; read-only). They depend on the query
    string alone ("mine" and the breach moment are resolved when the Q is built), so each view
    is validated once per process, not on every page."""
    flt = QueueFilter(QueryDict(query), queryset=Ticket.objects.none(), page=False)
    flt.errors  # noqa: B018 - validates the form
    return flt.form.cleaned_data


def count_views(request, views, bound=COUNT_BOUND) -> None:
    """Fill each view's count in one query: a bounded count per view (exact up to `bound`)."""
    if not views:
        return
    shell = QueueFilter(None, queryset=Ticket.objects.none(), request=request, page=False)
    visible = Ticket.objects.visible_to(request.user)
    parts, params = [], []
    for i, view in enumerate(views):
        q = shell.as_q(_cleaned(normalise(view.query)))
        qs = visible.filter(q).order_by().values("pk")[: bound + 1]
        sql, p = qs.query.get_compiler(using=qs.db).as_sql()
        # the ORM's own SQL, its values bound as parameters
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS view_{i})")  # noqa: S608
        params.extend(p)
    with connections[visible.db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)  # noqa: S608
        row = cursor.fetchone()
    for view, count in zip(views, row, strict=True):
        view.count = min(count, bound)
        view.exact = count <= bound


def save_view(user, name, query) -> tuple[QueueView | None, str | None]:
    """Save (or replace, by name) one of `user`'s views; (view, None) or (None, error)."""
    name = (name or "").strip()
    if not name:
        return None, _("Give the view a name.")
    if len(name) > NAME_MAX:
        return None, _("A view's name has at most %(max)d characters.") % {"max": NAME_MAX}
    query = normalise(query or "")
    if len(query) > QUERY_MAX:
        return None, _("These filters are too long to save as a view.")
    existing = QueueView.objects.filter(owner=user, name=name).first()
    if existing is None and QueueView.objects.filter(owner=user).count() >= MAX_OWN_VIEWS:
        return None, _("You have %(max)d views already; delete one first.") % {"max": MAX_OWN_VIEWS}
    if existing is not None:
        existing.query = query
        existing.save(update_fields=["query"])
        return existing, None
    return QueueView.objects.create(owner=user, name=name, query=query), None


# --- columns ---------------------------------------------------------------------------------

# key -> label; the number is always shown (it carries the link and the checkbox).
COLUMNS = {
    "priority": _("Priority"),
    "title": _("Title"),
    "kind": _("Kind"),
    "organization": _("Organisation"),
    "location": _("Location"),
    "status": _("Status"),
    "next_due": _("Next due"),
    "assignee": _("Assignee"),
    "reported": _("Reported"),
}
DEFAULT_COLUMNS = (
    "priority",
    "title",
    "organization",
    "status",
    "next_due",
    "assignee",
    "reported",
)


def columns_for(user) -> list[str]:
    chosen = QueueColumns.objects.filter(user=user).values_list("columns", flat=True).first()
    if chosen is None:
        return list(DEFAULT_COLUMNS)
    return [c for c in chosen.split(",") if c in COLUMNS]


def save_columns(user, columns) -> list[str]:
    columns = [c for c in COLUMNS if c in set(columns)]  # known ones, in the table's order
    QueueColumns.objects.update_or_create(user=user, defaults={"columns": ",".join(columns)})
    return columns
