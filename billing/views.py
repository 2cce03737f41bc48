"""Recording time from the ticket page (a POST route; the panel itself is part of the ticket
page, billing/extensions.py)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from pim.permissions import require_worker
from tickets.forms import apply_errors
from tickets.views import render_ticket_detail, ticket_action

from . import services
from .forms import TimeEntryForm


@ticket_action
def ticket_time(request, ticket):
    require_worker(request.user)
    form = TimeEntryForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            services.add_entry(ticket, request.user, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The time is recorded."))
            return redirect(ticket)
    return render_ticket_detail(request, ticket, status=400, time_form=form)
