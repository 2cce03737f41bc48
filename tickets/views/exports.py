"""Exports of the ticket lists (tickets/exports.py): the downloads behind the lists' "CSV" and
"Excel" buttons, and the user's own background exports (`/exports/`, `/exports/<id>/` with its
progress, the download). Somebody else's export is a 404."""

import tempfile

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from pim.permissions import staff_required

from .. import export_jobs, exports
from ..models import Export, ExportFormat, ExportList, ExportStatus
from .common import is_htmx, page_of

LIST_PAGES = {
    ExportList.QUEUE: "queue",
    ExportList.TICKETS: "ticket-list",
    ExportList.SEARCH: "search",
}


def export_query(params) -> str:
    """A list page's query string for its export buttons (its filters and sort, not its page)."""
    return urlencode(
        [(k, v) for k in params for v in params.getlist(k) if k not in ("page", "format")]
    )


def _download(request, list_name):
    user = request.user
    back = reverse(LIST_PAGES[list_name])
    try:
        fmt = exports.parse_format(request.GET.get("format"))
        query = exports.list_query(list_name, request.GET)
        rows = exports.export_rows(user, list_name, query, request)
    except exports.ExportRefused as exc:
        return render(
            request,
            "tickets/export_refused.html",
            {"errors": exc.messages, "back": f"{back}?{export_query(request.GET)}"},
            status=400,
        )
    language = translation.get_language()
    if exports.is_large(rows):
        if export_jobs.active_count(user) >= settings.EXPORT_MAX_ACTIVE:
            messages.error(
                request,
                _("You have %(count)d exports being prepared; start another when one is ready.")
                % {"count": settings.EXPORT_MAX_ACTIVE},
            )
            return redirect("export-list")
        export = export_jobs.start(user, list_name, query, fmt, language)
        messages.info(
            request,
            _(
                "The list has more than %(count)d rows: the export is prepared in the background."
                " It stays here for %(days)d days."
            )
            % {"count": settings.EXPORT_DIRECT_MAX_ROWS, "days": settings.EXPORT_KEEP_DAYS},
        )
        return redirect(export)
    name = exports.filename(list_name, fmt)
    if fmt == ExportFormat.CSV:
        response = StreamingHttpResponse(
            exports.stream_csv(user, language, rows), content_type=exports.CONTENT_TYPES[fmt]
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    exports.write_xlsx(out, user, rows)
    out.seek(0)
    return FileResponse(
        out, as_attachment=True, filename=name, content_type=exports.CONTENT_TYPES[fmt]
    )


@staff_required
@require_GET
def queue_export(request):
    """The queue's rows with its filters and sort, as CSV or XLSX."""
    return _download(request, ExportList.QUEUE)


@login_required
@require_GET
def ticket_list_export(request):
    """My tickets (an authorised contact: the organisation's) as on the list, as CSV or XLSX."""
    return _download(request, ExportList.TICKETS)


@login_required
@require_GET
def search_export(request):
    """The search results, best first, as CSV or XLSX."""
    return _download(request, ExportList.SEARCH)


def _own(user):
    """The user's exports that have not expired (the daily cleanup removes the rest)."""
    return Export.objects.filter(owner=user, expires_at__gt=timezone.now())


@login_required
@require_GET
def export_list(request):
    page = page_of(request, _own(request.user))
    return render(
        request,
        "tickets/export_list.html",
        {
            "page": page,
            "keep_days": settings.EXPORT_KEEP_DAYS,
            "direct_max": settings.EXPORT_DIRECT_MAX_ROWS,
        },
    )


@login_required
@require_GET
def export_detail(request, pk):
    """The export's progress (htmx asks for the fragment every few seconds until it is done)
    and, when it is ready, the download."""
    export = get_object_or_404(_own(request.user), pk=pk)
    template = "tickets/_export_progress.html" if is_htmx(request) else "tickets/export_detail.html"
    return render(request, template, {"export": export, "list_url": LIST_PAGES[export.list]})


@login_required
@require_GET
def export_download(request, pk):
    export = get_object_or_404(_own(request.user), pk=pk)
    if export.status != ExportStatus.DONE or not export.file:
        raise Http404
    try:
        handle = export.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=export.filename,
        content_type=exports.CONTENT_TYPES[export.format],
    )
