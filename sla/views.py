from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
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

from . import availability_queries, documents, majorchange, outages, services
from .api import document_response
from .forms import (
    AvailabilityFilterForm,
    ComplianceFilterForm,
    NoAccessForm,
    OutageForm,
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
    all organisations (with a filter), authorised contacts their own; anybody else 404."""
    user = request.user
    if not (user.is_provider_staff or user.is_authorised_contact):
        raise Http404
    organizations = visible_organizations(user)
    form = AvailabilityFilterForm(request.GET or None, organizations=organizations)
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if valid and form.is_bound else {}
    month = data.get("month") or timezone.localdate().replace(day=1)
    org_id = data["organization"].pk if data.get("organization") else None
    rows = availability_queries.figures(availability_queries.visible_services(user, org_id), month)
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
