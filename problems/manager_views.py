"""The manager views of problem management (issue 16 item 7; provider staff only): the
open-problem report and the incident-trend view, from which a manager raises a problem."""

from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from pim import inputs
from pim.filters import parse_id
from pim.models import Organization, Service
from pim.permissions import staff_required

from . import reports


@staff_required
def open_problem_report(request):
    return render(
        request,
        "problems/report.html",
        {"report": reports.open_problems()},
    )


def _organization(request):
    """The organisation filter of the trend view (None: all), or a 400-style empty choice."""
    value = request.GET.get("organization")
    if not value:
        return None, ""
    pk = parse_id(value)
    organization = Organization.objects.filter(pk=pk).first() if pk is not None else None
    if organization is None:
        return None, _("Choose an organisation from the list.")
    return organization, ""


@staff_required
def incident_trends(request):
    organization, error = _organization(request)
    months = reports.incident_trends(organization_id=organization.pk if organization else None)
    return render(
        request,
        "problems/trends.html",
        {
            "months": months,
            "organization": organization,
            "organizations": Organization.objects.order_by("name"),
            "error": error,
            "peak": max((m.incidents for m in months), default=0),
        },
        status=400 if error else 200,
    )


@staff_required
def raise_from_trend(request):
    """`?service=ID&month=YYYY-MM`: the problem form filled with that service's incidents of
    that month (at most 50, newest first) and a title naming them."""
    service_id = parse_id(request.GET.get("service") or "")
    month = inputs.parse_month(request.GET.get("month") or "")
    service = Service.objects.select_related("organization").filter(pk=service_id).first()
    if service is None or month is None:
        raise Http404(_("No such service or month."))
    numbers = [t.number for t in reports.incidents_of(service.pk, month)]
    if not numbers:
        raise Http404(_("No incidents of this service in this month."))
    query = urlencode(
        {
            "incidents": " ".join(numbers),
            "title": _("Recurring incidents: %(service)s (%(month)s)")
            % {"service": service.name, "month": month.strftime("%m-%Y")},
        }
    )
    return redirect(f"{reverse('problem-create')}?{query}")
