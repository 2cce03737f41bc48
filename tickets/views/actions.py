"""POST actions on a visible ticket: reply, attach, take, assign, priority, status, confirm.
Each works as plain POST + redirect; the update form also answers htmx with a partial."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from pim import uploads
from pim.exceptions import IllegalStateChange

from .. import services
from ..forms import (
    AssignForm,
    AttachmentForm,
    NotResolvedForm,
    PriorityForm,
    ResolveForm,
    TransitionForm,
    WorkaroundForm,
    apply_errors,
)
from ..models import Status, Visibility
from .common import is_htmx
from .detail import (
    composer_form,
    detail_context,
    get_ticket,
    render_ticket_detail,
    ticket_action,
)


@ticket_action
def ticket_update(request, ticket):
    """The composer: a reply (customer), or a public reply or internal note (staff), with an
    optional status change and files, in one submit (`services.compose`: all or nothing, so a
    refused file keeps the text on the form and saves nothing). htmx gets the main part of the
    page back, or a redirect when the status changed (the side panel follows the status)."""
    user = request.user
    old_status = ticket.status
    form = composer_form(ticket, user, request.POST, request.FILES)
    saved = False
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.compose(
                ticket,
                user,
                body=data["body"],
                visibility=data.get("visibility") or Visibility.PUBLIC,
                status=data.get("status") or None,
                files=data.get("files") or [],
                next_actions=data.get("next_actions") or "",
                expected_resolution_at=data.get("expected_resolution_at"),
                wish_date=data.get("wish_date"),
            )
        except ValidationError as exc:
            apply_errors(form, _files_errors(exc))
        except IllegalStateChange as exc:  # the page was older than the ticket's status
            form.add_error("status" if "status" in form.fields else None, exc.message)
        else:
            saved = True
    if is_htmx(request):
        ticket = get_ticket(request, ticket.number)  # the reply may have moved the status
        if saved and ticket.status != old_status:
            messages.success(request, _("Your update has been added."))
            return HttpResponse(headers={"HX-Redirect": ticket.get_absolute_url()})
        ctx = detail_context(request, ticket, update_form=None if saved else form)
        ctx["saved"] = saved
        return render(request, "tickets/_activity_response.html", ctx)
    if saved:
        messages.success(request, _("Your update has been added."))
        return redirect(ticket)
    return render_ticket_detail(request, ticket, update_form=form)


def _files_errors(exc):
    """A single file's error (`file`, from the attachment service) belongs to `files`."""
    if hasattr(exc, "error_dict") and "file" in exc.error_dict:
        errors = dict(exc.error_dict)
        errors["files"] = errors.pop("file") + errors.get("files", [])
        return ValidationError(errors)
    return exc


@ticket_action
def ticket_attach(request, ticket):
    user = request.user
    form = AttachmentForm(request.POST, request.FILES, user=user)
    if form.is_valid():
        try:
            attachment = services.add_attachment(
                ticket,
                user,
                form.cleaned_data["file"],
                internal=bool(form.cleaned_data.get("internal")),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("“%(name)s” has been attached.") % {"name": attachment.original_name},
            )
            return redirect(ticket)
    # Post/redirect/get: back on the ticket page, the error beside the file field.
    errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
    uploads.remember_refusal(request, ticket.number, errors)
    return HttpResponseRedirect(ticket.get_absolute_url() + "#ticket-attach", status=303)


@ticket_action
def ticket_take(request, ticket):
    services.take(ticket, request.user)
    messages.success(request, _("You have taken %(number)s.") % {"number": ticket.number})
    return redirect(ticket)


@ticket_action
def ticket_assign(request, ticket):
    form = AssignForm(request.POST)
    if form.is_valid():
        try:
            services.update_ticket(ticket, request.user, assignee=form.cleaned_data["assignee"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The assignee has been saved."))
            return redirect(ticket)
    return render_ticket_detail(request, ticket, assign_form=form)


@ticket_action
def ticket_priority(request, ticket):
    form = PriorityForm(request.POST, ticket=ticket)
    if form.is_valid():
        try:
            services.change_priority(
                ticket, request.user, form.cleaned_data["priority"], form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The priority is now %(priority)s.") % {"priority": ticket.priority_label},
            )
            return redirect(ticket)
    return render_ticket_detail(request, ticket, priority_form=form)


@ticket_action
def ticket_transition(request, ticket):
    user = request.user
    if request.POST.get("status") == Status.RESOLVED:
        form = ResolveForm(request.POST, ticket=ticket)
        form_name = "resolve_form"
    else:
        form = TransitionForm(request.POST)
        form_name = "transition_form"
    if form.is_valid():
        data = form.cleaned_data
        status = data["status"]
        try:
            services.transition(
                ticket,
                user,
                status,
                note=data.get("note") or "",
                resolution=form.resolution() if status == Status.RESOLVED else None,
                wish_date=data.get("wish_date"),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(number)s is now “%(status)s”.")
                % {"number": ticket.number, "status": Status(status).label},
            )
            return redirect(ticket)
    return render_ticket_detail(request, ticket, **{form_name: form})


@ticket_action
def ticket_workaround(request, ticket):
    """A workaround is in place: the restore clock stops, the ticket stays open and the
    customer is told."""
    form = WorkaroundForm(request.POST)
    if form.is_valid():
        try:
            services.record_workaround(
                ticket, request.user, form.cleaned_data["text"], form.cleaned_data["status"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The workaround is recorded; %(number)s stays open for the definitive fix.")
                % {"number": ticket.number},
            )
            return redirect(ticket)
    return render_ticket_detail(request, ticket, workaround_form=form)


@ticket_action
def ticket_confirm(request, ticket):
    """The customer confirms the resolution: the ticket is closed."""
    services.confirm_resolution(ticket, request.user)
    messages.success(request, _("Thank you, %(number)s is closed.") % {"number": ticket.number})
    return redirect(ticket)


@ticket_action
def ticket_not_resolved(request, ticket):
    """The customer says the problem is not solved: back to the service desk."""
    form = NotResolvedForm(request.POST)
    if form.is_valid():
        services.transition(
            ticket, request.user, Status.RESPONSE_RECEIVED, note=form.cleaned_data["note"]
        )
        messages.success(
            request,
            _("We have reopened %(number)s and will contact you.") % {"number": ticket.number},
        )
        return redirect(ticket)
    return render_ticket_detail(request, ticket, not_resolved_form=form)
