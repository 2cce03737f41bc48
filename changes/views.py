"""The change path's pages: the change request form ("Nieuwe melding" → change request) and the
steps on the ticket page (one POST route; the form's `action` names the step)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from pim.inputs import DESCRIPTION_MAX, MAX_ID, RESOLUTION_TEXT_MAX, TITLE_MAX
from tickets import services as ticket_services
from tickets.forms import apply_errors
from tickets.models import Channel, Kind, Ticket
from tickets.views import render_ticket_detail, ticket_action

from . import services
from .forms import STEP_FORMS, STEP_LABELS, ChangeRequestForm


@login_required
def change_create(request):
    """A customer files a change request: what, why, the wished date, the services. The
    service desk registers one for a caller of an organisation (the caller is the requester),
    also raised from an incident or problem (`?from=<number>`: then it is non-standard and
    linked, seed §5.1)."""
    user = request.user
    staff = user.is_worker
    if not (user.is_customer or staff):
        raise PermissionDenied(_("Customers file change requests here."))
    source_number = (
        request.POST.get("raised_from")
        or request.GET.get("from")
        or request.GET.get("raised_from")
        or ""
    )
    source = _source(user, source_number) if staff else None
    org_id = user.organization_id_or_none if not staff else _organization_id(request, source)
    initial = {}
    if staff:
        initial = {"organization": org_id, "raised_from": source.number if source else ""}
        if source is not None and source.kind == Kind.INCIDENT:
            initial["caller"] = source.reporter_id
        # without JS "Show the organisation's callers" is a GET of the whole form: keep it
        initial |= {
            name: request.GET[name][:limit]
            for name, limit in KEPT_ON_LOOKUP.items()
            if isinstance(request.GET.get(name), str)
        }
    form = ChangeRequestForm(
        request.POST or None, organization_id=org_id, staff=staff, initial=initial
    )
    if staff and source_number and source is None and request.method == "POST":
        form.add_error(None, _("The incident or problem to raise the change from is unknown."))
    if request.method == "POST" and form.is_valid():
        try:
            ticket = _file(user, form.cleaned_data, source)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if staff:
                caller = ticket.reporter
                message = _("Registered as %(number)s for %(caller)s.") % {
                    "number": ticket.number,
                    "caller": caller.get_full_name() or caller.username,
                }
            else:
                message = _("Your change request has been registered as %(number)s.") % {
                    "number": ticket.number
                }
            messages.success(request, message)
            return redirect(ticket)
    return render(
        request,
        "changes/change_form.html",
        {"form": form, "source": source},
        status=400 if form.is_bound and form.errors else 200,
    )


KEPT_ON_LOOKUP = {
    "title": TITLE_MAX,
    "description": DESCRIPTION_MAX,
    "why": RESOLUTION_TEXT_MAX,
    "caller": 12,
    "channel": 16,
}


def _source(user, number):
    """The incident or problem (visible to `user`) a change is raised from, by its number."""
    if not number or not isinstance(number, str) or len(number) > 40:
        return None
    return (
        Ticket.objects.visible_to(user)
        .filter(number=number.strip().upper(), kind__in=(Kind.INCIDENT, Kind.PROBLEM))
        .select_related("organization")
        .first()
    )


def _organization_id(request, source):
    """The organisation the service desk registers the change for: the incident's, else the
    one chosen (posted, or a GET of the form to show its callers and services)."""
    if source is not None and source.kind == Kind.INCIDENT:
        return source.organization_id
    raw = request.POST.get("organization") or request.GET.get("organization") or ""
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit()):
        return None
    pk = int(raw)
    return pk if 0 < pk <= MAX_ID else None


@transaction.atomic
def _file(user, data, source=None):
    kwargs = {}
    if user.is_worker:
        organization = data["organization"]
        incident = source is not None and source.kind == Kind.INCIDENT
        if incident and organization.pk != source.organization_id:
            raise ValidationError(
                {"organization": _("A change raised from an incident is for its organisation.")}
            )
        kwargs = {
            "organization": organization,
            "reporter": data["caller"],
            "channel": data.get("channel") or Channel.PHONE,
        }
    ticket = ticket_services.create_ticket(
        actor=user,
        title=data["title"],
        description=data["description"],
        kind=Kind.CHANGE,
        priority=data["priority"],
        service=(data["services"][0] if len(data["services"]) == 1 else None),
        **kwargs,
    )
    services.describe(
        ticket,
        user,
        why=data["why"],
        wished_date=data.get("wished_date"),
        services=data["services"],
        raised_from=source,
    )
    return ticket


@ticket_action
def ticket_change(request, ticket):
    """A step of the change path from the ticket page: the role (a message), the stage (a
    message with the reason), then the form (shown again with its errors)."""
    action = request.POST.get("action")
    if action not in STEP_FORMS:
        messages.error(request, _("Unknown action."))
        return redirect(ticket)
    services.check_role(action, request.user)
    services.check_stage(action, services.change_of(ticket))
    form = STEP_FORMS[action](request.POST, ticket=ticket)
    if form.is_valid():
        data = form.data_for_service()
        if action == "quote" and request.POST.get("draft"):
            data["draft"] = True  # "Save as draft": the customer does not see it yet
        try:
            services.act(ticket, request.user, action, data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            step = _("Save as draft") if data.get("draft") else STEP_LABELS[action]
            messages.success(request, _("Done: %(step)s.") % {"step": step})
            return redirect(ticket)
    return render_ticket_detail(request, ticket, status=400, **{f"change_{action}_form": form})
