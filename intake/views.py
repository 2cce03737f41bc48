"""The triage page (provider staff): held e-mails become tickets or are discarded.

Customers get 404 (the page does not exist for them: pim.permissions.staff_or_404). Actions are
POST-only and go through intake.triage, which locks the row so two agents cannot triage one
message twice.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from pim.permissions import staff_or_404

from .filing import DEFAULT_PRIORITY
from .forms import CreateTicketForm, DiscardForm, TriageFilterForm
from .models import InboundMessage, InboundStatus
from .triage import TriageError, create_ticket_from_held, discard_held, suggest_organization

PAGE_SIZE = 20


def _back(request):
    url = reverse("intake-triage")
    status = request.POST.get("back_status") or ""
    if status in InboundStatus.values or status == "all":
        url += f"?status={status}"
    return redirect(url)


@login_required
@require_GET
def triage(request):
    staff_or_404(request.user)
    form = TriageFilterForm(request.GET or None)
    status = "held"
    if form.is_bound and form.is_valid() and form.cleaned_data.get("status"):
        status = form.cleaned_data["status"]
    qs = InboundMessage.objects.select_related("ticket", "triaged_by").defer("raw")
    if status != "all":
        qs = qs.filter(status=status)
    page = Paginator(qs.order_by("-received_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    can_act = request.user.is_worker
    for message in page:
        if can_act and message.status == InboundStatus.HELD:
            message.create_form = CreateTicketForm(
                auto_id=f"id_m{message.pk}_%s",
                initial={
                    "organization": suggest_organization(message.from_address),
                    "title": message.subject,
                    "priority": DEFAULT_PRIORITY,
                },
            )
            message.discard_form = DiscardForm(auto_id=f"id_d{message.pk}_%s")
    held_count = InboundMessage.objects.filter(status=InboundStatus.HELD).count()
    return render(
        request,
        "intake/triage.html",
        {
            "form": form,
            "status": status,
            "page": page,
            "held_count": held_count,
            "can_act": can_act,
            "SERVICE_DESK_ADDRESS": settings.SERVICE_DESK_ADDRESS,
        },
    )


def get_message_for(user, pk: int) -> InboundMessage:
    """The inbound message `pk` for provider staff; 404 for anybody else, as for a message that
    does not exist (after healthchecks' `_get_rw_check_for_user`)."""
    staff_or_404(user)
    return get_object_or_404(InboundMessage, pk=pk)


@login_required
@require_POST
def triage_create_ticket(request, pk):
    message = get_message_for(request.user, pk)
    form = CreateTicketForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
        return _back(request)
    data = form.cleaned_data
    try:
        message = create_ticket_from_held(
            message.pk,
            request.user,
            organization=data["organization"],
            title=data.get("title") or "",
            priority=data["priority"],
        )
    except (TriageError, PermissionDenied) as exc:
        messages.error(request, str(exc) or _("You may not do this."))
        return _back(request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(request)
    messages.success(
        request,
        _("Ticket %(number)s created from the e-mail.") % {"number": message.ticket.number},
    )
    return redirect(message.ticket)


@login_required
@require_POST
def triage_discard(request, pk):
    message = get_message_for(request.user, pk)
    form = DiscardForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the message is discarded."))
        return _back(request)
    try:
        discard_held(message.pk, request.user, form.cleaned_data["reason"])
    except (TriageError, PermissionDenied) as exc:
        messages.error(request, str(exc) or _("You may not do this."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The message was discarded."))
    return _back(request)
