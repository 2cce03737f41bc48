"""The change path's pages: the change request form ("Nieuwe melding" → change request) and the
steps on the ticket page (one POST route; the form's `action` names the step)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from tickets import services as ticket_services
from tickets.forms import apply_errors
from tickets.models import Kind
from tickets.views import render_ticket_detail, ticket_action

from . import services
from .forms import STEP_FORMS, STEP_LABELS, ChangeRequestForm


@login_required
def change_create(request):
    """A customer files a change request: what, why, the wished date, the services."""
    user = request.user
    if not user.is_customer:
        raise PermissionDenied(_("Customers file change requests here."))
    form = ChangeRequestForm(request.POST or None, organization_id=user.organization_id_or_none)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = _file(user, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Your change request has been registered as %(number)s.")
                % {"number": ticket.number},
            )
            return redirect(ticket)
    return render(
        request,
        "changes/change_form.html",
        {"form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@transaction.atomic
def _file(user, data):
    ticket = ticket_services.create_ticket(
        actor=user,
        title=data["title"],
        description=data["description"],
        kind=Kind.CHANGE,
        priority=data["priority"],
        service=(data["services"][0] if len(data["services"]) == 1 else None),
    )
    services.describe(
        ticket,
        user,
        why=data["why"],
        wished_date=data.get("wished_date"),
        services=data["services"],
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
