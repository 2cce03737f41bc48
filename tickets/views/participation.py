"""Watchers, withdrawal and the satisfaction rating on the ticket page (issue 12)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from pim.filters import parse_id
from pim.refusals import input_refused

from .. import links, participation
from ..forms import LinkForm, RatingForm, WatcherForm, WithdrawForm, apply_errors
from ..models import TicketLink, TicketWatcher
from .detail import get_ticket, render_ticket_detail, ticket_action


@ticket_action
def ticket_watcher_add(request, ticket):
    form = WatcherForm(request.POST, candidates=participation.watcher_candidates(ticket))
    if form.is_valid():
        user = form.cleaned_data["user"]
        try:
            participation.add_watcher(ticket, request.user, user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s now follows %(number)s.")
                % {"name": user.get_full_name() or user.username, "number": ticket.number},
            )
            return redirect(ticket)
    return render_ticket_detail(request, ticket, status=400, watcher_form=form)


@ticket_action
def ticket_watcher_remove(request, ticket):
    user_id = parse_id(request.POST.get("user"))
    if user_id is None:
        return input_refused(request, _("That is not a valid watcher."))
    watcher = TicketWatcher.objects.filter(ticket=ticket, user_id=user_id).select_related("user")
    watcher = watcher.first()
    if watcher is not None and participation.remove_watcher(ticket, request.user, watcher.user):
        messages.success(request, _("The watcher has been removed."))
    return redirect(ticket)


@ticket_action
def ticket_withdraw(request, ticket):
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            participation.withdraw(ticket, request.user, form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("%(number)s is withdrawn.") % {"number": ticket.number})
            return redirect(ticket)
    return render_ticket_detail(request, ticket, status=400, withdraw_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def ticket_rating(request, number):
    """GET (the one-click link in the e-mail): the ticket page with the score chosen; POST
    records it (a mail scanner following the link rates nothing)."""
    if request.method == "POST":
        return _rate(request, number)
    ticket = get_ticket(request, number)
    score = parse_id(request.GET.get("score"))
    initial = {"score": score} if score in participation.RATING_SCORES else {}
    return render_ticket_detail(request, ticket, rating_form=RatingForm(initial=initial))


@ticket_action
def _rate(request, ticket):
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            participation.rate(
                ticket, request.user, form.cleaned_data["score"], form.cleaned_data["comment"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Thank you for your rating."))
            return redirect(ticket)
    return render_ticket_detail(request, ticket, status=400, rating_form=form)


# --- links (issue 16 item 6) -------------------------------------------------------------------


@ticket_action
def ticket_link_add(request, ticket):
    if not request.user.is_provider_staff:
        raise PermissionDenied(_("Only the service desk links tickets."))
    form = LinkForm(request.POST)
    if form.is_valid():
        other = links.find_ticket(request.user, number=form.cleaned_data["number"])
        if other is None:
            form.add_error("number", _("No ticket has this number."))
        else:
            try:
                links.add_link(ticket, request.user, other, form.cleaned_data["kind"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("%(number)s is linked to %(other)s.")
                    % {"number": ticket.number, "other": other.number},
                )
                return redirect(ticket)
    return render_ticket_detail(request, ticket, status=400, link_form=form)


@ticket_action
def ticket_link_remove(request, ticket):
    if not request.user.is_provider_staff:
        raise PermissionDenied(_("Only the service desk links tickets."))
    link_id = parse_id(request.POST.get("link"))
    if link_id is None:
        return input_refused(request, _("That is not a valid link."))
    link = TicketLink.objects.filter(Q(source=ticket) | Q(target=ticket), pk=link_id).first()
    if link is not None:
        links.remove_link(ticket, request.user, link)
        messages.success(request, _("The link has been removed."))
    return redirect(ticket)
