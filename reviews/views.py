"""The review on the ticket page: file or amend it, add an action, tick an action done (POST
routes; the panel itself is part of the ticket page, reviews/extensions.py)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from pim.filters import parse_id
from pim.permissions import is_provider_staff
from pim.refusals import input_refused
from tickets.forms import apply_errors
from tickets.views import render_ticket_detail, ticket_action

from . import services
from .forms import ReviewActionForm, ReviewForm
from .models import ReviewAction


def _staff(request):
    if not is_provider_staff(request.user):
        raise PermissionDenied(_("Provider staff file the post-incident review."))


@ticket_action
def ticket_review(request, ticket):
    _staff(request)
    services.check_reviewable(ticket, filing=True)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.save_review(ticket, request.user, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The post-incident review is saved."))
            return redirect(ticket)
    return render_ticket_detail(request, ticket, status=400, review_form=form)


@ticket_action
def ticket_review_action(request, ticket):
    _staff(request)
    services.check_reviewable(ticket, filing=True)
    form = ReviewActionForm(request.POST, ticket=ticket)
    if form.is_valid():
        try:
            services.add_action(ticket, request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The action is added."))
            return redirect(ticket)
    return render_ticket_detail(request, ticket, status=400, review_action_form=form)


@ticket_action
def ticket_review_action_done(request, ticket):
    _staff(request)
    action_id = parse_id(request.POST.get("action"))
    if action_id is None:
        return input_refused(request, _("That is not a valid action."))
    action = (
        ReviewAction.objects.filter(review__ticket=ticket, pk=action_id)
        .select_related("review")
        .first()
    )
    if action is not None:
        services.set_action_done(ticket, request.user, action, request.POST.get("done") != "0")
        messages.success(request, _("The action is updated."))
    return redirect(ticket)
