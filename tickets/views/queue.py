"""The agent workspace: one queue across all organisations."""

from django.db.models import Case, F, IntegerField, Value, When
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from pim.permissions import staff_required

from .. import extensions, queries
from ..filters import DEFAULT_DIRECTION, DEFAULT_SORT, QueueFilter
from ..models import (
    Status,
)
from .common import is_htmx, page_of

STATUS_ORDER = Case(
    *(When(status=s, then=Value(i)) for i, s in enumerate(Status.values)),
    default=Value(99),
    output_field=IntegerField(),
)


@staff_required
@require_GET
def queue(request):
    """All organisations' tickets; open ones unless the status filter says otherwise."""
    filters = QueueFilter(request.GET, queryset=queries.ticket_list(request.user), request=request)
    qs = filters.qs  # invalid values are ignored (and shown on the form)
    data = filters.sort_data

    sort = data.get("sort") or DEFAULT_SORT  # an invalid value is shown on the form
    direction = data.get("dir") or DEFAULT_DIRECTION.get(sort, "desc")
    key = {"reported_at": "reported_at", "priority": "priority", "number": "number"}.get(sort)
    qs = extensions.clock_read().list_rows(qs)
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

    page = page_of(request, qs)
    ctx = {
        "form": filters.form,
        "page": page,
        "sort": sort,
        "dir": direction,
        "now": timezone.now(),
    }
    template = "tickets/_queue_results.html" if is_htmx(request) else "tickets/queue.html"
    return render(request, template, ctx)
