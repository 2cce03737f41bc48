"""The agent workspace: one queue across all organisations."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from pim.filters import parse_id
from pim.permissions import staff_required

from .. import bulk, extensions, lists, queries, queue_views
from ..filters import drill_context
from ..forms import BulkForm
from ..models import QueueView
from .common import is_htmx, page_of
from .exports import export_query


@staff_required
@require_GET
def queue(request):
    """All organisations' tickets; open ones unless the status filter says otherwise."""
    found = lists.queue_rows(request.user, request.GET, request)
    qs = extensions.clock_read().list_rows(queries.for_page(found.rows))
    sort, direction = found.context["sort"], found.context["dir"]
    page = page_of(request, qs)
    views = queue_views.views_for(request.user, current=request.GET)
    queue_views.count_views(request, views)
    ctx = {
        "form": found.form,
        "page": page,
        "sort": sort,
        "dir": direction,
        "now": timezone.now(),
        "views": views,
        "view_query": queue_views.normalise(request.GET),
        "export_query": export_query(request.GET),
        "columns": queue_views.columns_for(request.user),
        "column_choices": queue_views.COLUMNS.items(),
        "bulk_form": BulkForm(auto_id="bulk_%s"),
    }
    ctx["drill"], ctx["drill_errors"] = drill_context(found.filters, request.GET)
    # the filter panel folds away while the rows are a view's (or the default queue): the
    # first screen shows tickets; filters of the agent's own choosing, or errors, show it open
    filtering = bool(set(request.GET) & set(lists.QUEUE_PARAMS))
    ctx["show_filters"] = bool(found.form.errors) or (
        filtering and not any(view.active for view in views)
    )
    if is_htmx(request):  # the rows, and the views' counts out of band
        return render(request, "tickets/_queue_results.html", {**ctx, "partial": True})
    return render(request, "tickets/queue.html", ctx, status=400 if ctx["drill_errors"] else 200)


def _back_to_queue(request):
    """The queue with the filters the form was sent from (only the queue's own names)."""
    query = queue_views.normalise(request.POST.get("query", ""))
    return redirect(f"{reverse('queue')}?{query}" if query else reverse("queue"))


@require_POST
@staff_required
def queue_view_save(request):
    """Save the queue's current filters and sort under a name (the agent's own view)."""
    view, error = queue_views.save_view(
        request.user, request.POST.get("name"), request.POST.get("query")
    )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("The view “%(name)s” is saved.") % {"name": view.name})
    return _back_to_queue(request)


@require_POST
@staff_required
def queue_view_delete(request):
    """Delete one of the agent's own views (another agent's view is a 404)."""
    pk = parse_id(request.POST.get("view", ""))
    if pk is None:
        raise Http404
    view = get_object_or_404(QueueView, pk=pk, owner=request.user)
    view.delete()
    messages.success(request, _("The view “%(name)s” is deleted.") % {"name": view.name})
    return _back_to_queue(request)


@require_POST
@staff_required
def queue_columns(request):
    """The columns the agent wants in the queue (kept per user)."""
    queue_views.save_columns(request.user, request.POST.getlist("columns"))
    messages.success(request, _("The queue's columns are saved."))
    return _back_to_queue(request)


@require_POST
@staff_required
def queue_bulk(request):
    """One action on the selected rows, ticket by ticket through the single actions' services;
    the summary says what was done and what was refused, and why."""
    form = BulkForm(request.POST)
    if not form.is_valid():
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        messages.error(request, " ".join(errors))
        return _back_to_queue(request)
    data = form.cleaned_data
    outcome = bulk.apply(
        request.user,
        data["tickets"],
        data["action"],
        **{
            bulk.TAKE: {},
            bulk.ASSIGN: {"assignee": data["assignee"]},
            bulk.STATUS: {"status": data["status"], "reason": data["reason"]},
            bulk.PRIORITY: {"priority": data["priority"], "reason": data["reason"]},
        }[data["action"]],
    )
    level = messages.SUCCESS if not outcome.refused else messages.WARNING
    if not outcome.done:
        level = messages.ERROR
    messages.add_message(request, level, outcome.summary())
    return _back_to_queue(request)
