"""The manager dashboard's pages: `/dashboard/` and its wallboard (`/dashboard/wallboard/`,
large type, refreshes itself, no navigation)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from pim.filters import parse_id
from pim.routers import replica_reads
from pim.scoping import visible_organizations

from . import charts, dashboard
from .forms import DashboardFilterForm

WALLBOARD_REFRESH_SECONDS = 60


def _context(request):
    """The figures for the request's month and organisation, the form and the status (400 when
    a filter value is invalid: the page shows why, with the current month's figures)."""
    user = request.user
    dashboard.check_viewer(user)
    organizations = visible_organizations(user)
    if not user.is_provider_staff:
        # a contact's dashboard is their organisation's: another organisation is not found
        wanted = request.GET.get("organization")
        if wanted and parse_id(wanted) != user.organization_id_or_none:
            raise Http404
    form = DashboardFilterForm(request.GET or None, organizations=organizations)
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if valid and form.is_bound else {}
    month = data.get("month") or timezone.localdate().replace(day=1)
    org = data.get("organization") if user.is_provider_staff else None
    board = dashboard.figures(user, month, org.pk if org else None)
    return {
        "board": board,
        "form": form,
        "month": month,
        "organizations": organizations if user.is_provider_staff else None,
        "organization_id": org.pk if org else None,
        "organization": org,
        "charts": _charts(board),
    }, 200 if valid else 400


def _charts(board):
    trend = board.trend
    return {
        "tickets": charts.bar_chart(
            [{"label": date_format(t["month"], "M"), "value": t["tickets"]} for t in trend]
        ),
        "share": charts.bar_chart(
            [
                {
                    "label": date_format(t["month"], "M"),
                    "value": t["share"],
                }
                for t in trend
            ],
            maximum=100,
        ),
        "compliance": charts.bar_chart(
            [
                {
                    "label": f"P{r['priority']}",
                    "sublabel": str(r["target_label"]),
                    "value": r["share"],
                    "goal": r["goal"],
                }
                for r in board.compliance
            ],
            maximum=100,
        ),
        "satisfaction": charts.bar_chart(
            [
                {
                    "label": date_format(s["month"], "M"),
                    "value": s["average"],
                }
                for s in board.satisfaction
            ],
            maximum=5,
        ),
    }


@login_required
@require_GET
@replica_reads()  # a report: the read replica, where one is configured
def dashboard_page(request):
    """Provider staff (all organisations, with a filter) and authorised contacts (their own);
    anybody else 403."""
    context, status = _context(request)
    if request.GET.get("wallboard") == "1":
        return _wallboard(request, context, status)
    return render(request, "sla/dashboard.html", context, status=status)


@login_required
@require_GET
@replica_reads()
def wallboard_page(request):
    context, status = _context(request)
    return _wallboard(request, context, status)


def _wallboard(request, context, status):
    context.update(refresh=WALLBOARD_REFRESH_SECONDS, title=_("Dashboard"))
    return render(request, "sla/wallboard.html", context, status=status)
