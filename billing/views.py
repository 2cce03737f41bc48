"""Recording time from the ticket page (a POST route; the panel itself is part of the ticket
page, billing/extensions.py), and the monthly billing overview: `/billing/` (provider staff
pick any organisation, authorised contacts read their own), its CSV and PDF, closing a month
(provider managers) and the month's export for the accounting package; and the hour bundle
statement `/billing/bundles/`."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from pim import inputs
from pim.permissions import is_authorised_contact, is_manager, is_provider_staff, require_worker
from pim.scoping import visible_organizations
from tickets.forms import apply_errors
from tickets.views import render_ticket_detail, ticket_action

from . import bundles, exports, months, overview, services
from .forms import BillingFilterForm, BundleFilterForm, ThresholdForm, TimeEntryForm


@ticket_action
def ticket_time(request, ticket):
    require_worker(request.user)
    form = TimeEntryForm(request.POST, user=request.user)
    status = 400
    if form.is_valid():
        try:
            services.add_entry(ticket, request.user, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except months.MonthClosed as exc:
            form.add_error("worked_on", exc.message)
            status = 409
        else:
            messages.success(request, _("The time is recorded."))
            return redirect(ticket)
    return render_ticket_detail(request, ticket, status=status, time_form=form)


# --- the monthly overview ---------------------------------------------------------------------


def previous_month():
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)


def _reader_or_404(user):
    """Provider staff and authorised contacts read overviews; for everybody else the pages do
    not exist."""
    if not (is_provider_staff(user) or is_authorised_contact(user)):
        raise Http404


def _organization_and_month(request, organization, month):
    _reader_or_404(request.user)
    org = get_object_or_404(visible_organizations(request.user), pk=organization)
    first = inputs.parse_month(month)
    if first is None:
        raise Http404
    return org, first


@login_required
@require_GET
def billing_page(request):
    user = request.user
    _reader_or_404(user)
    organizations = visible_organizations(user).order_by("name")
    form = BillingFilterForm(request.GET or None, organizations=organizations)
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if valid and form.is_bound else {}
    month = data.get("month") or previous_month()
    org = data.get("organization")
    staff = is_provider_staff(user)
    if not staff:
        org = organizations.first()
    context = {
        "form": form,
        "month": month,
        "month_value": month.strftime("%Y-%m"),
        "organizations": organizations if staff else None,
        "organization": org,
        "may_close": is_manager(user),
        "ended": month < months.month_of(timezone.localdate()),
        "bundles_placeholder": True,
    }
    if org is not None:
        context["overview"] = overview.overview(org, month)
    elif staff:
        # All organisations with billing in the month, one row each (constant queries).
        active = overview.active_organizations(month)
        context["summaries"] = overview.build([o for o in organizations if o.pk in active], month)
        context["may_export"] = is_manager(user)
    return render(request, "billing/overview.html", context, status=200 if valid else 400)


def _filename(org, month, extension):
    return f"billing-{org.slug or org.pk}-{month:%Y-%m}.{extension}"


@login_required
@require_GET
def overview_csv(request, organization, month):
    org, first = _organization_and_month(request, organization, month)
    response = HttpResponse(
        exports.overview_csv(overview.overview(org, first)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(org, first, "csv")}"'
    return response


@login_required
@require_GET
def overview_pdf(request, organization, month):
    org, first = _organization_and_month(request, organization, month)
    body = exports.overview_pdf(overview.overview(org, first), months.month_label(first))
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename(org, first, "pdf")}"'
    return response


@login_required
@require_POST
def close_month(request, organization, month):
    org, first = _organization_and_month(request, organization, month)
    back = reverse("billing") + "?" + urlencode({"month": f"{first:%Y-%m}", "organization": org.pk})
    try:
        months.close_month(org, first, request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except months.MonthClosed as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(month)s is closed for %(organization)s: the overview is final.")
            % {"month": months.month_label(first), "organization": org.name},
        )
    return redirect(back)


@login_required
@require_GET
def accounting_csv(request, month):
    """The month's export for the accounting package (provider managers)."""
    if not is_manager(request.user):
        raise Http404
    first = inputs.parse_month(month)
    if first is None:
        raise Http404
    active = overview.active_organizations(first)
    organizations = visible_organizations(request.user).filter(pk__in=active).order_by("name")
    response = HttpResponse(
        exports.accounting_csv(overview.build(organizations, first)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="accounting-{first:%Y-%m}.csv"'
    return response


# --- the bundle statement (billing/bundles.py) ------------------------------------------------


def _bundle_reader(request):
    if not bundles.may_read_bundles(request.user):
        raise Http404


def _render_statement(request, threshold_form=None, status=200):
    user = request.user
    staff = user.is_provider_staff
    organizations = visible_organizations(user).order_by("name")
    form = BundleFilterForm((request.GET or None) if staff else None, organizations=organizations)
    if form.is_bound and not form.is_valid():
        status = 400
    organization = None
    if staff:
        if form.is_bound and form.is_valid():
            organization = form.cleaned_data.get("organization")
    else:
        organization = organizations.first()
    all_bundles = []
    if staff and organization is None:
        all_bundles = list(
            bundles.with_balance(bundles.bundles_for(user)).order_by(
                "organization__name", "purchased_on", "pk"
            )
        )
        for bundle in all_bundles:
            bundle.left = bundle.minutes - bundle.drawn
    statement = bundles.statement(organization) if organization is not None else None
    if threshold_form is None and statement is not None and user.is_authorised_contact:
        threshold_form = ThresholdForm(initial={"threshold_hours": statement.threshold_hours})
    return render(
        request,
        "billing/bundles.html",
        {
            "staff": staff,
            "form": form,
            "organizations": organizations if staff else None,
            "organization": organization,
            "all_bundles": all_bundles,
            "statement": statement,
            "threshold_form": threshold_form if user.is_authorised_contact else None,
        },
        status=status,
    )


@login_required
@require_GET
def bundle_statement(request):
    """The hour bundles: an authorised contact reads their organisation's statement and sets its
    low-balance threshold; provider staff read all bundles, one organisation's statement with
    the filter; anybody else 404."""
    _bundle_reader(request)
    return _render_statement(request)


@login_required
@require_POST
def bundle_threshold(request):
    """The authorised contact's low-balance threshold (others: 403)."""
    _bundle_reader(request)
    if not request.user.is_authorised_contact:
        raise PermissionDenied(_("An authorised contact chooses the low-balance threshold."))
    form = ThresholdForm(request.POST)
    if form.is_valid():
        organization = visible_organizations(request.user).get()
        try:
            bundles.set_threshold(
                organization, request.user, form.cleaned_data.get("threshold_hours")
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The low-balance threshold is saved."))
            return redirect("billing-bundles")
    return _render_statement(request, threshold_form=form, status=400)
