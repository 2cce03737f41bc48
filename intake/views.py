"""The triage page (provider staff): held e-mails become tickets or are discarded.

Customers get 404 (the page does not exist for them). Actions are POST-only and go through
intake.services, which locks the row so two agents cannot triage one message twice.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import services
from .forms import CreateTicketForm, DiscardForm, TriageFilterForm
from .models import InboundMessage, InboundStatus

PAGE_SIZE = 20


def staff_only(view):
    """Provider staff only; everybody else gets a 404."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_provider_staff:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _back(request):
    url = reverse("intake-triage")
    status = request.POST.get("back_status") or ""
    if status in InboundStatus.values or status == "all":
        url += f"?status={status}"
    return redirect(url)


@login_required
@require_GET
@staff_only
def triage(request):
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
                    "organization": services.suggest_organization(message.from_address),
                    "title": message.subject,
                    "priority": services.DEFAULT_PRIORITY,
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


def _held_or_404(pk):
    return get_object_or_404(InboundMessage, pk=pk)


@login_required
@require_POST
@staff_only
def triage_create_ticket(request, pk):
    message = _held_or_404(pk)
    form = CreateTicketForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
        return _back(request)
    data = form.cleaned_data
    try:
        message = services.create_ticket_from_held(
            message.pk,
            request.user,
            organization=data["organization"],
            title=data.get("title") or "",
            priority=data["priority"],
        )
    except (services.TriageError, PermissionDenied) as exc:
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
@staff_only
def triage_discard(request, pk):
    message = _held_or_404(pk)
    form = DiscardForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the message is discarded."))
        return _back(request)
    try:
        services.discard_held(message.pk, request.user, form.cleaned_data["reason"])
    except (services.TriageError, PermissionDenied) as exc:
        messages.error(request, str(exc) or _("You may not do this."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The message was discarded."))
    return _back(request)
