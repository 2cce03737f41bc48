from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from pim.exceptions import IllegalStateChange
from pim.routers import replica_reads
from pim.scoping import visible_organizations
from tickets.forms import apply_errors
from tickets.views import render_ticket_detail, ticket_action

from . import (
    availability_queries,
    dashboard,
    documents,
    majorchange,
    monthly,
    monthly_reports,
    outages,
    services,
)
from .api import document_response, report_file_response
from .forms import (
    AvailabilityFilterForm,
    ComplianceFilterForm,
    NoAccessForm,
    OutageForm,
    ReportFilterForm,
    ReportGenerateForm,
    RouteStepForm,
    SlaChangeRequestForm,
    SlaNotApplicableForm,
)
from .queries import compliance, satisfaction_by_agent


@login_required
@replica_reads()  # a report: the read replica, where one is configured
def compliance_page(request):
    """Monthly SLA compliance: managers see all organisations, authorised contacts their own."""
    user = request.user
    if not (user.is_provider_staff or user.is_authorised_contact):
        raise Http404
    today = timezone.localdate()
    default_since = date(today.year - (today.month <= 3), (today.month - 4) % 12 + 1, 1)
    organizations = visible_organizations(user)
    form = ComplianceFilterForm(request.GET or None, organizations=organizations)
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if form.is_bound else {}
    since = data.get("since") or default_since
    org_id = data["organization"].pk if data.get("organization") else None
    since_at = timezone.make_aware(timezone.datetime.combine(since, timezone.datetime.min.time()))
    rows = compliance(user, since=since_at, organization_id=org_id)
    return render(
        request,
        "sla/compliance.html",
        {
            "rows": rows,
            "since": since,
            "organizations": organizations if user.is_provider_staff else None,
            "organization_id": org_id,
            "form": form,
            # the customers' ratings per agent: for provider staff only
            "satisfaction": satisfaction_by_agent(since_at, org_id)
            if user.is_provider_staff
            else None,
        },
        status=200 if valid else 400,
    )


@ticket_action
def ticket_no_access(request, ticket):
    """An agent records an interval without access to the premises (the clocks pause)."""
    form = NoAccessForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.record_no_access(
                ticket, request.user, data["start_at"], data["end_at"], data["note"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The interval without access was recorded."))
            return redirect(ticket)
    return render_ticket_detail(request, ticket, status=400, no_access_form=form)


@ticket_action
def ticket_sla_not_applicable(request, ticket):
    form = SlaNotApplicableForm(request.POST)
    if form.is_valid():
        try:
            services.set_sla_not_applicable(ticket, request.user, form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The SLA no longer applies to this ticket."))
            return redirect(ticket)
    return render_ticket_detail(request, ticket, status=400, sla_na_form=form)


def _may_read_documents(user):
    if not (user.is_provider_staff or user.is_authorised_contact):
        raise Http404


@login_required
@require_GET
@replica_reads()  # a report: the read replica, where one is configured
def availability_page(request):
    """Availability per service in a month and the year to date (SPEC §9): provider staff see
    all organisations (with a filter), authorised contacts their own; anybody else 404. Each
    service's outage count links to its incidents (the queue, or the contact's ticket list)."""
    user = request.user
    if not (user.is_provider_staff or user.is_authorised_contact):
        raise Http404
    organizations = visible_organizations(user)
    form = AvailabilityFilterForm(request.GET or None, organizations=organizations)
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if valid and form.is_bound else {}
    month = data.get("month") or timezone.localdate().replace(day=1)
    org_id = data["organization"].pk if data.get("organization") else None
    rows = dashboard.availability_rows(
        user,
        availability_queries.figures(availability_queries.visible_services(user, org_id), month),
        org_id,
    )
    return render(
        request,
        "sla/availability.html",
        {
            "rows": rows,
            "month": month,
            "organizations": organizations if user.is_provider_staff else None,
            "organization_id": org_id,
            "form": form,
        },
        status=200 if valid else 400,
    )


@ticket_action
def ticket_outage(request, ticket):
    """An agent marks the outage of the incident's service, corrects its times, or (the
    "clear" button) takes the mark away."""
    if "clear" in request.POST:
        outages.clear_outage(ticket, request.user)
        messages.success(request, _("The incident no longer marks an outage."))
        return redirect(ticket)
    form = OutageForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            outages.mark_outage(ticket, request.user, data["starts_at"], data["ends_at"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The outage of the service was recorded."))
            return redirect(ticket)
    return render_ticket_detail(request, ticket, status=400, outage_form=form)


@login_required
@require_GET
def documents_page(request):
    """The versions of the SLA document: an authorised contact their organisation's, provider
    staff all; anybody else 404. A Major Change shows its route, deadlines and steps, with the
    forms of the steps the reader may take now; contacts also get the change-request form."""
    _may_read_documents(request.user)
    return _render_documents(request)


def _render_documents(request, status=200, change_form=None):
    user = request.user
    today = timezone.localdate()
    versions = list(documents.versions_for(user).prefetch_related("steps__actor"))
    rows = [
        {
            "version": v,
            "applies_from": majorchange.applies_on(v, today),
            "route": majorchange.status(v, user, today),
        }
        for v in versions
    ]
    for row in rows:
        if row["route"]:
            row["state_label"] = majorchange.state_label(row["route"]["state"])
    return render(
        request,
        "sla/documents.html",
        {
            "rows": rows,
            "today": today,
            "staff": user.is_provider_staff,
            "change_form": (change_form or SlaChangeRequestForm())
            if user.is_authorised_contact
            else None,
        },
        status=status,
    )


ROUTE_DONE = {
    "object": gettext_lazy("Your objection was recorded."),
    "consult": gettext_lazy("The consultation was recorded."),
    "agree": gettext_lazy("The agreement was recorded."),
    "terminate": gettext_lazy("The termination was recorded."),
}


@login_required
@require_POST
def document_route(request, pk):
    """A step of a version's Major Change route (the role 403, the moment 409, the input 400)."""
    _may_read_documents(request.user)
    version = get_object_or_404(documents.versions_for(request.user), pk=pk)
    form = RouteStepForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
        return _render_documents(request, status=400)
    data = form.cleaned_data
    action, text, day = data["action"], data["text"], data["day"]
    try:
        majorchange.take(
            version,
            request.user,
            action,
            reason=text,
            applies_on=day if action == "agree" else None,
            terminates_on=day if action == "terminate" else None,
        )
    except IllegalStateChange as exc:
        messages.error(request, exc.message)
        return _render_documents(request, status=409)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _render_documents(request, status=400)
    messages.success(request, ROUTE_DONE[action])
    return redirect("sla-documents")


@login_required
@require_POST
def document_change_request(request):
    """An authorised contact asks for a change of the SLA: a question ticket, confirmed with
    its number."""
    if not request.user.is_authorised_contact:
        raise Http404
    form = SlaChangeRequestForm(request.POST)
    if form.is_valid():
        try:
            ticket = documents.request_change(request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Your request to change the SLA was registered as %(number)s.")
                % {"number": ticket.number},
            )
            return redirect(ticket)
    return _render_documents(request, status=400, change_form=form)


@login_required
@require_GET
def document_download(request, pk):
    """A version's PDF, for whoever may read the version (404 otherwise)."""
    return document_response(get_object_or_404(documents.versions_for(request.user), pk=pk))


# --- the monthly SLA reports (issue 17 item 3) ------------------------------------------------

REPORTS_PAGE_SIZE = 25


def _may_read_reports(user):
    """Provider staff and authorised contacts read reports; any other user is refused (403)."""
    if not (user.is_provider_staff or user.is_authorised_contact):
        raise PermissionDenied


@login_required
@require_GET
def reports_page(request):
    """The monthly SLA reports kept: provider staff all organisations (with a filter) and the
    form to (re)generate one, authorised contacts their own organisation's."""
    _may_read_reports(request.user)
    return _render_reports(request)


def _render_reports(request, status=200, generate_form=None):
    user = request.user
    organizations = visible_organizations(user).order_by("name")
    form = ReportFilterForm(request.GET or None, organizations=organizations)
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if valid and form.is_bound else {}
    org = data.get("organization")
    reports = monthly.reports_visible_to(user).select_related("organization")
    if org is not None:
        reports = reports.filter(organization=org)
    page = Paginator(reports.order_by("-month", "organization__name", "pk"), REPORTS_PAGE_SIZE)
    staff = user.is_provider_staff
    if staff and generate_form is None:
        generate_form = ReportGenerateForm(
            organizations=organizations,
            initial={"month": monthly.previous_month(timezone.localdate()).strftime("%Y-%m")},
        )
    return render(
        request,
        "sla/reports.html",
        {
            "page": page.get_page(request.GET.get("page")),
            "form": form,
            "organizations": organizations if staff else None,
            "organization_id": org.pk if org else None,
            "generate_form": generate_form if staff else None,
        },
        status=status if valid else 400,
    )


@login_required
@require_POST
def report_generate(request):
    """Provider staff (re)generate a report of an ended month (the current or a future month:
    409); it is not mailed again."""
    user = request.user
    if not user.is_provider_staff:
        raise PermissionDenied
    form = ReportGenerateForm(request.POST, organizations=visible_organizations(user))
    if not form.is_valid():
        return _render_reports(request, status=400, generate_form=form)
    data = form.cleaned_data
    try:
        monthly_reports.generate(data["organization"], data["month"], actor=user)
    except monthly_reports.MonthNotOver:
        form.add_error("month", _("A report is made of a month that has ended."))
        return _render_reports(request, status=409, generate_form=form)
    messages.success(
        request,
        _("The report of %(organization)s for %(month)s was generated.")
        % {"organization": data["organization"].name, "month": f"{data['month']:%Y-%m}"},
    )
    return redirect("sla-reports")


@login_required
@require_GET
def report_pdf(request, pk):
    """A report's PDF, for whoever may read the report (404 otherwise)."""
    report = get_object_or_404(monthly.reports_visible_to(request.user), pk=pk)
    return report_file_response(report, "pdf")


@login_required
@require_GET
def report_csv(request, pk):
    """A report's CSV, for whoever may read the report (404 otherwise)."""
    report = get_object_or_404(monthly.reports_visible_to(request.user), pk=pk)
    return report_file_response(report, "csv")
