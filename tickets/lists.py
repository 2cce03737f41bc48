"""The rows of the ticket lists, built in one place for the pages and their exports
(tickets/exports.py): the agent queue, the customer's list and the search results. Each takes
the viewer and the list's query string and answers the rows in the viewer's scope, filtered and
ordered exactly as the page shows them, without what only a page needs (the clocks of the
countdowns: `extensions.clock_read().list_rows`, which the pages add)."""

from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import urlencode

from django import forms
from django.db.models import Case, F, IntegerField, Value, When
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from pim import inputs

from . import queries, queue_views
from .filters import (
    ALL,
    DEFAULT_DIRECTION,
    DEFAULT_SORT,
    QueueFilter,
    TicketFilter,
    drill_context,
)
from .forms import CustomerListFilterForm
from .models import NOT_CLOSED_STATUSES, Status

STATUS_ORDER = Case(
    *(When(status=s, then=Value(i)) for i, s in enumerate(Status.values)),
    default=Value(99),
    output_field=IntegerField(),
)

# The customer list's "Show" choice as TicketFilter statuses: open means not closed yet (a
# resolved ticket waits for the customer's confirmation).
CUSTOMER_LIST_STATES = {
    "open": sorted(NOT_CLOSED_STATUSES),  # served by the partial index ticket_org_open
    "closed": [Status.CLOSED],
    "all": [ALL],
}


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search tickets"), required=False, max_length=inputs.SEARCH_MAX)


@dataclass
class ListRows:
    """A list's rows (a queryset, filtered and ordered) and the form its page shows."""

    rows: object
    form: object
    context: dict = field(default_factory=dict)  # what else the page shows (sort, state, term)
    filters: object = None  # the FilterSet behind the rows (the queue's drill-down line)

    @property
    def errors(self):
        """The invalid values (the page ignores them and shows them; an export refuses), with
        an invalid drill-down value of the customer list (its page answers 400)."""
        errors = dict(self.form.errors) if self.form is not None and self.form.is_bound else {}
        for label, messages in self.context.get("drill_errors", ()):
            errors[str(label)] = messages
        return errors


def _valid_part(form):
    """The valid part of a bound filter form; invalid values are ignored (and shown)."""
    if not form.is_bound:
        return {}
    form.is_valid()
    return form.cleaned_data


def _viewer(user, request):
    """What the filters read of the request: its user (an export task has no request)."""
    return request if request is not None else SimpleNamespace(user=user)


def queue_rows(user, params, request=None):
    """The agent queue: all organisations' tickets, open ones unless the status filter says
    otherwise, sorted by the queue's sort (default: the most urgent work first)."""
    filters = QueueFilter(
        params, queryset=queries.ticket_list(user), request=_viewer(user, request)
    )
    qs = filters.qs  # invalid values are ignored (and shown on the form)
    data = filters.sort_data

    sort = data.get("sort") or DEFAULT_SORT  # an invalid value is shown on the form
    direction = data.get("dir") or DEFAULT_DIRECTION.get(sort, "desc")
    key = {"reported_at": "reported_at", "priority": "priority", "number": "number"}.get(sort)
    if sort == "status":
        qs = qs.annotate(status_order=STATUS_ORDER)
        key = "status_order"
    if sort == "next_due":
        # the soonest deadline first (a breached one is the most overdue), then the higher
        # priority; tickets without a running clock last. The partial index ticket_queue_due
        # serves the first key, an incremental sort the rest.
        due = F("next_due_at")
        order = due.desc(nulls_last=True) if direction == "desc" else due.asc(nulls_last=True)
        qs = qs.order_by(order, "priority", "-reported_at", "-pk")
    else:
        prefix = "-" if direction == "desc" else ""
        if key == "reported_at":
            qs = qs.order_by(f"{prefix}reported_at", f"{prefix}pk")
        else:
            qs = qs.order_by(f"{prefix}{key}", "-reported_at", "-pk")
    return ListRows(qs, filters.form, {"sort": sort, "dir": direction}, filters)


QUEUE_PARAMS = queue_views.VIEW_PARAMS  # the queue's filters and sort: what a view keeps


def customer_rows(user, params, request=None):
    """Customer users: their own tickets; authorised contacts: their organisation's (provider
    staff reach the same list). Newest first. A dashboard figure's drill-down adds
    TicketFilter's own names (`DRILL_PARAMS`); `context["drill_errors"]` holds invalid ones."""
    form = CustomerListFilterForm(params or None)
    data = _valid_part(form)
    state = data.get("state") or "open"
    wanted = {"status": CUSTOMER_LIST_STATES[state], "search": data.get("q") or ""}
    for name in DRILL_PARAMS:
        if params.getlist(name):
            wanted[name] = params.getlist(name)
    filters = TicketFilter(
        QueryDict(urlencode(list(wanted.items()), doseq=True)),
        queryset=queries.ticket_list(user),
        request=_viewer(user, request),
    )
    rows = filters.qs.order_by("-reported_at", "-pk")
    drill, drill_errors = drill_context(filters, params, DRILL_PARAMS)
    context = {
        "state": state,
        "filtered": bool(data.get("q")) or bool(drill),
        "drill": drill,
        "drill_errors": drill_errors,
    }
    return ListRows(rows, form, context, filters)


# TicketFilter's names a dashboard drill-down carries to the customer list (sla/dashboard.py).
DRILL_PARAMS = (
    "status",
    "priority",
    "sla_state",
    "reported",
    "target",
    "outcome",
    "escalation",
    "rated",
    "service",
    "outage",
)
CUSTOMER_PARAMS = ("state", "q", *DRILL_PARAMS)


def search_rows(user, params, request=None):
    """The tickets the term finds within the user's scope, best first (ranked on PostgreSQL,
    within `queries.RANK_WINDOW`); no term: no rows. `context["found"]` is every match,
    unordered (the page counts it)."""
    form = SearchForm(params or None)
    data = _valid_part(form)
    term = (data.get("q") or "").strip()
    if not term:
        return ListRows(queries.ticket_list(user).none(), form, {"term": "", "found": None})
    found = queries.search_tickets(queries.ticket_list(user), term, user)
    ranked = queries.rank_tickets(found, term, user)
    return ListRows(ranked, form, {"term": term, "found": found})


SEARCH_PARAMS = ("q",)
