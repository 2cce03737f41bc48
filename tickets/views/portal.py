"""The customer portal: my tickets (an authorised contact: the organisation's), file a ticket."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from pim.inputs import DESCRIPTION_MAX, TITLE_MAX

from .. import extensions, lists, queries, services
from ..forms import (
    CallerLookupForm,
    QuestionForm,
    TicketCreateForm,
    apply_errors,
)
from ..models import Channel, Kind, Priority
from .common import page_of
from .exports import export_query


@login_required
@require_GET
def ticket_list(request):
    """Customer users: their own tickets; authorised contacts: their organisation's.
    Provider staff reach the same page, but work from the queue. A dashboard figure's
    drill-down adds TicketFilter's own names (`lists.DRILL_PARAMS`); an invalid one answers 400."""
    found = lists.customer_rows(request.user, request.GET, request)
    page = page_of(request, extensions.clock_read().list_rows(queries.for_page(found.rows)))
    return render(
        request,
        "tickets/ticket_list.html",
        {
            "form": found.form,
            "page": page,
            **found.context,
            "export_query": export_query(request.GET),
            "now": timezone.now(),
        },
        status=400 if found.context["drill_errors"] else 200,
    )


@login_required
def ticket_create(request):
    """Customers file an incident; service desk workers register one for a caller: the
    organisation first, then the caller (found by name or e-mail, or added on the fly), the
    channel. A GET carrying the organisation (htmx, or the button without JS) narrows the
    callers, services and locations to it."""
    user = request.user
    if not (user.is_customer or user.is_worker):
        raise PermissionDenied(_("You may not file tickets."))
    if request.method == "POST":
        form = TicketCreateForm(request.POST, user=user)
    else:
        form = _lookup_form(request, user)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = _create(user, form)
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or _("You may not file tickets."))
        else:
            _registered_messages(request, user, ticket)
            return redirect(ticket)
    context = {"form": form}
    if user.is_customer:
        context["phone_notice"] = extensions.urgent_notice(user.organization_id_or_none)
        context.update(extensions.new_ticket_context(request))
    return render(request, "tickets/ticket_form.html", context)


LIMITS = {"title": TITLE_MAX, "description": DESCRIPTION_MAX, "priority": 2, "channel": 16}


def _lookup_form(request, user):
    if user.is_customer:
        title = request.GET.get("title")  # back from following a known error (problems)
        if isinstance(title, str) and title.strip():
            return TicketCreateForm(user=user, initial={"title": title[:TITLE_MAX]})
        return TicketCreateForm(user=user)
    lookup = CallerLookupForm(request.GET)
    lookup.is_valid()
    data = getattr(lookup, "cleaned_data", {})
    organization = data.get("organization")
    initial = {}
    if organization is not None:
        initial = {"organization": organization.pk, "caller_q": data.get("caller_q") or ""}
        # without JS the lookup is a GET of the whole form: keep what was typed
        initial |= {
            name: request.GET[name][: LIMITS[name]]
            for name in LIMITS
            if isinstance(request.GET.get(name), str)
        }
    return TicketCreateForm(
        user=user,
        organization=organization,
        caller_q=data.get("caller_q") or "",
        initial=initial,
    )


@transaction.atomic
def _create(user, form):
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
        kwargs["kind"] = data.get("kind") or Kind.INCIDENT  # an incident or a question
        contact = form.new_contact()
        kwargs["organization"] = data["organization"]
        kwargs["channel"] = data.get("channel") or Channel.PHONE
        kwargs["reporter"] = (
            services.add_contact(user, data["organization"], **contact)
            if contact is not None
            else data["caller"]
        )
    return services.create_ticket(actor=user, **kwargs)


def _registered_messages(request, user, ticket):
    if user.is_customer:
        messages.success(
            request,
            _("Your report has been registered as %(number)s.") % {"number": ticket.number},
        )
    else:
        reporter = ticket.reporter
        messages.success(
            request,
            _("Registered as %(number)s for %(caller)s; the ticket number goes to %(email)s.")
            % {
                "number": ticket.number,
                "caller": reporter.get_full_name() or reporter.username,
                "email": reporter.email or "–",
            },
        )
    if ticket.priority in (Priority.P1, Priority.P2) and user.is_customer:
        messages.warning(request, _urgent_message(ticket))


def _when(instant):
    return date_format(timezone.localtime(instant), "l j F H:i")


def _urgent_message(ticket):
    """What a customer who filed a P1/P2 does now: call us (office hours), call the on-call
    service (24/7 contract), or nothing until the next opening, with the response promised."""
    now = timezone.now()
    notice = extensions.urgent_notice(ticket.organization_id, now)
    if notice["mode"] == "oncall":
        return _(
            "P1/P2 outside office hours: please call our on-call service as well on %(phone)s, "
            "quoting %(number)s."
        ) % {"phone": notice["phone"], "number": ticket.number}
    if notice["mode"] == "closed":
        due = next(
            (
                c.due_at
                for c in extensions.clock_read().clocks(ticket, now)
                if c.target == "response" and c.due_at
            ),
            notice["response_due"].get(ticket.priority),
        )
        return _(
            "Our phone is staffed in office hours only; it opens again %(opening)s. Under your "
            "office-hours contract we respond to %(number)s by %(due)s. No need to call before "
            "then."
        ) % {
            "opening": _when(notice["next_open"]),
            "number": ticket.number,
            "due": _when(due) if due else "–",
        }
    return _("P1/P2: please call us as well on %(phone)s, quoting %(number)s.") % {
        "phone": _service_desk_phone(),
        "number": ticket.number,
    }


def _service_desk_phone():
    return settings.SERVICE_DESK_PHONE


@login_required
def question_create(request):
    """A customer asks a short question or makes a service request (seed 004: fair use)."""
    user = request.user
    if not user.is_customer:
        raise PermissionDenied(_("Customers ask questions here."))
    form = QuestionForm(request.POST or None, organization_id=user.organization_id_or_none)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.create_ticket(
                actor=user,
                kind=Kind.QUESTION,
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                service=form.cleaned_data.get("service"),
                priority=Priority.P4,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Your question has been registered as %(number)s.") % {"number": ticket.number},
            )
            return redirect(ticket)
    return render(
        request,
        "tickets/question_form.html",
        {"form": form},
        status=400 if form.is_bound and form.errors else 200,
    )
