"""The customer portal: my tickets (an authorised contact: the organisation's), file a ticket."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from .. import extensions, queries, services
from ..filters import ALL, TicketFilter
from ..forms import (
    CustomerListFilterForm,
    TicketCreateForm,
    apply_errors,
)
from ..models import (
    OPEN_STATUSES,
    Kind,
    Priority,
    Status,
)
from .common import filter_data, page_of

# The customer list's "Show" choice as TicketFilter statuses: open means not closed yet (a
# resolved ticket waits for the customer's confirmation).
CUSTOMER_LIST_STATES = {
    "open": [*sorted(OPEN_STATUSES), Status.RESOLVED],
    "closed": [Status.CLOSED],
    "all": [ALL],
}


@login_required
@require_GET
def ticket_list(request):
    """Customer users: their own tickets; authorised contacts: their organisation's.
    Provider staff reach the same page, but work from the queue."""
    form = CustomerListFilterForm(request.GET or None)
    data = filter_data(form)
    state = data.get("state") or "open"
    filters = TicketFilter(
        {"status": CUSTOMER_LIST_STATES[state], "search": data.get("q") or ""},
        queryset=queries.ticket_list(request.user),
        request=request,
    )
    qs = filters.qs
    page = page_of(request, extensions.clock_read().list_rows(qs).order_by("-reported_at", "-pk"))
    return render(
        request,
        "tickets/ticket_list.html",
        {
            "form": form,
            "page": page,
            "state": state,
            "filtered": bool(data.get("q")),
            "now": timezone.now(),
        },
    )


@login_required
def ticket_create(request):
    user = request.user
    if not (user.is_customer or user.is_worker):
        raise PermissionDenied(_("You may not file tickets."))
    form = TicketCreateForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        kwargs = {
            "title": data["title"],
            "description": data["description"],
            "priority": data["priority"],
            "service": data.get("service"),
            "location": data.get("location"),
            "kind": Kind.INCIDENT,
        }
        if not user.is_customer:
            kwargs["organization"] = data["organization"]
            kwargs["channel"] = data.get("channel") or "phone"
        try:
            ticket = services.create_ticket(actor=user, **kwargs)
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or _("You may not file tickets."))
        else:
            messages.success(
                request,
                _("Your report has been registered as %(number)s.") % {"number": ticket.number},
            )
            if ticket.priority in (Priority.P1, Priority.P2) and user.is_customer:
                messages.warning(
                    request,
                    _("P1/P2: please call us as well on %(phone)s, quoting %(number)s.")
                    % {"phone": _service_desk_phone(), "number": ticket.number},
                )
            return redirect(ticket)
    return render(request, "tickets/ticket_form.html", {"form": form})


def _service_desk_phone():
    return settings.SERVICE_DESK_PHONE
