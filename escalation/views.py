"""Pages: customer escalation, the manager list of open escalations with acknowledge, the
acknowledge link from the e-mail, and the in-app notifications."""

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, OuterRef, Subquery, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_scopes import scopes_disabled

from pim.filters import parse_id
from pim.permissions import is_admin, may_manage_webhooks, staff_required
from pim.refusals import input_refused
from tickets.models import Ticket

from . import inbox, outbox, preferences, services
from .acknowledge import acknowledge, read_acknowledge_token
from .delivery import messages_for, trigger_label
from .forms import EscalateForm, NotificationPreferenceForm
from .models import (
    LEVEL_ORDER,
    Channel,
    CustomerEvent,
    Escalation,
    Notification,
    Trigger,
    WebhookDelivery,
)
from .webhooks import endpoints as webhook_endpoints
from .webhooks import events as webhook_events


@login_required
def ticket_escalate(request, number):
    """An authorised contact escalates a ticket of their organisation, with a reason."""
    ticket = get_object_or_404(Ticket.objects.visible_to(request.user), number=number)
    if not request.user.is_authorised_contact:
        raise Http404
    form = EscalateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.escalate_by_customer(ticket, request.user, form.cleaned_data["reason"])
        except ValidationError as exc:
            for error in exc.messages:
                form.add_error(None, error)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Ticket %(number)s is escalated; our management has been informed.")
                % {"number": ticket.number},
            )
            return redirect(ticket)
    escalations = services.escalations_for(ticket, request.user)
    return render(
        request,
        "escalation/escalate_form.html",
        {"ticket": ticket, "form": form, "escalations": escalations},
    )


def _level_rank():
    return Case(
        *(When(level=level, then=Value(rank)) for rank, level in enumerate(LEVEL_ORDER)),
        output_field=IntegerField(),
    )


def _person(user):
    return user.get_full_name() or user.username


@staff_required
@require_GET
def escalation_list(request):
    """Open escalations for managers and staff: one row per ticket with its highest open level,
    the trigger in words and who has it by name; `?show=all` lists every escalation."""
    show = request.GET.get("show", "open")
    qs = Escalation.objects.select_related("ticket", "ticket__organization", "acknowledged_by")
    if show == "all":
        qs = qs.order_by("-raised_at", "-pk")
    else:
        highest = (
            Escalation.objects.filter(ticket=OuterRef("ticket"), closed_at__isnull=True)
            .annotate(rank=_level_rank())
            .order_by("-rank", "-raised_at", "-pk")
            .values("pk")[:1]
        )
        qs = (
            qs.filter(closed_at__isnull=True, pk=Subquery(highest))
            .annotate(rank=_level_rank())
            .order_by("-rank", "-raised_at", "-pk")
        )
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    # Who each escalation went to, per tier (the in-app row is written for every recipient).
    sent = Notification.objects.filter(
        escalation__in=[e.pk for e in page], channel=Channel.IN_APP, template="escalation"
    ).select_related("recipient")
    with_names, notified = {}, set()
    for n in sent:
        if n.recipient_id == request.user.pk:
            notified.add(n.escalation_id)
        with_names.setdefault((n.escalation_id, n.context.get("tier", 0)), []).append(
            _person(n.recipient)
        )
    triggers = {t.code: t for t in Trigger.objects.all()}
    rows = [
        {
            "e": e,
            "why": trigger_label(e.trigger, triggers),
            "with": ", ".join(sorted(with_names.get((e.pk, e.tier), []))),
            "acknowledged_by": _person(e.acknowledged_by) if e.acknowledged_by else "",
        }
        for e in page
    ]
    return render(
        request,
        "escalation/escalation_list.html",
        {
            "page": page,
            "rows": rows,
            "show": show,
            "notified": notified,
            "is_admin": is_admin(request.user),
        },
    )


@staff_required
@require_POST
def escalation_acknowledge(request):
    escalation_id = parse_id(request.POST.get("escalation"))
    if escalation_id is None:
        return input_refused(request, _("That is not a valid escalation."))
    escalation = get_object_or_404(Escalation, pk=escalation_id)
    try:
        acknowledge(escalation, request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("You acknowledged the escalation of %(number)s.")
            % {"number": escalation.ticket.number},
        )
    return redirect("escalation-list")


def escalation_ack_link(request, token):
    """The link in the escalation e-mail: GET shows what is acknowledged, POST does it (so a
    mail scanner following links acknowledges nothing)."""
    found = read_acknowledge_token(token)
    if found is None:
        raise Http404
    escalation, user = found
    if request.user.is_authenticated and request.user.pk != user.pk:
        raise Http404
    done = False
    if request.method == "POST":
        try:
            acknowledge(escalation, user)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            done = True
    with scopes_disabled():
        ticket = escalation.ticket
    return render(
        request,
        "escalation/acknowledge.html",
        {"escalation": escalation, "ticket": ticket, "ack_user": user, "done": done},
    )


@login_required
@require_GET
def notification_list(request):
    """The person's in-app notifications, newest first, filtered by kind (`?kind=`), each with
    its link and a button to mark it read."""
    kind = request.GET.get("kind", "")
    qs = Notification.objects.filter(recipient=request.user, channel=Channel.IN_APP).select_related(
        "ticket", "escalation"
    )  # fmt: skip
    if kind:
        condition = inbox.kind_filter(kind)
        if condition is None:
            return input_refused(request, _("Choose one of the kinds in the list."))
        qs = qs.filter(condition)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    notifications = list(page)
    for notification in notifications:
        notification.recipient = request.user  # they are all theirs: no query per row
    rows = []
    for notification, (subject, body, _extra) in zip(
        notifications, messages_for(notifications), strict=True
    ):
        leads = inbox.target(notification, request.user) is not None
        url = reverse("notification-open", args=[notification.pk]) if leads else None
        rows.append({"n": notification, "subject": subject, "body": body, "url": url})
    return render(
        request,
        "escalation/notification_list.html",
        {
            "page": page,
            "rows": rows,
            "kind": kind,
            "kinds": inbox.kind_choices(),
            "unread": any(row["n"].read_at is None for row in rows),
        },
    )


def _own_notification(request, pk):
    return get_object_or_404(
        Notification.objects.select_related("ticket", "escalation"),
        pk=pk,
        recipient=request.user,
        channel=Channel.IN_APP,
    )


@login_required
@require_GET
def notification_open(request, pk):
    """Opening a notification marks it read and goes where it leads."""
    notification = _own_notification(request, pk)
    outbox.mark_read(request.user, [notification.pk])
    return redirect(inbox.target(notification, request.user) or "notification-list")


@login_required
@require_POST
def notification_read(request, pk):
    """Mark one notification read; back to the list as it was (kind and page)."""
    notification = _own_notification(request, pk)
    outbox.mark_read(request.user, [notification.pk])
    return redirect(_list_url(request))


def _list_url(request):
    query = {}
    kind = request.POST.get("kind", "")
    if inbox.kind_filter(kind) is not None:
        query["kind"] = kind
    page = parse_id(request.POST.get("page"))
    if page and page > 1:
        query["page"] = page
    url = reverse("notification-list")
    return f"{url}?{urlencode(query)}" if query else url


@login_required
def notification_preferences(request):
    """What the person is told, and how (issue 12): the receipt and *Waiting for customer*
    always, by e-mail and in the portal; the rest as they choose."""
    current = preferences.preferences_of(request.user)
    enabled = preferences.enabled_events(current)
    initial = {"by_email": current.by_email, "in_app": current.in_app}
    initial.update({f"event_{e}": on for e, on in enabled.items()})
    form = NotificationPreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        preferences.save(
            request.user,
            by_email=form.cleaned_data["by_email"],
            in_app=form.cleaned_data["in_app"],
            events=form.events(),
        )
        messages.success(request, _("Your notification preferences have been saved."))
        return redirect("notification-preferences")
    return render(
        request,
        "escalation/notification_preferences.html",
        {"form": form, "mandatory": [CustomerEvent(e).label for e in MANDATORY_ORDER]},
        status=400 if form.errors else 200,
    )


MANDATORY_ORDER = [CustomerEvent.RECEIPT, CustomerEvent.WAITING]


@login_required
@require_POST
def notifications_read(request):
    """Mark all read, or (with `kind`, the list's filter) all of that kind: what the list shows."""
    ids = [parse_id(value) for value in request.POST.getlist("notification")]
    if None in ids:
        return input_refused(request, _("That is not a valid notification."))
    kind = request.POST.get("kind", "")
    only = inbox.kind_filter(kind) if kind else None
    if kind and only is None:
        return input_refused(request, _("Choose one of the kinds in the list."))
    outbox.mark_read(request.user, ids or None, only=only)
    return redirect(_list_url(request))


@login_required
def webhook_list(request):
    """An organisation's webhook endpoints: create (the secret is shown once), the last
    deliveries of each, and the actions (test event, rotate secret, delete)."""
    if not may_manage_webhooks(request.user):
        raise Http404
    secret, error = None, None
    if request.method == "POST":
        url = request.POST.get("url", "").strip()[:500]
        try:
            endpoint = webhook_endpoints.create_endpoint(request.user, url)
        except ValidationError as exc:
            error = "; ".join(exc.messages)
        else:
            secret = endpoint.secret
            messages.success(request, _("The webhook endpoint was added."))
    endpoints = list(webhook_endpoints.endpoints_for(request.user).select_related("organization"))
    recent = {}
    for delivery in (
        WebhookDelivery.objects.filter(notification__endpoint__in=endpoints)
        .select_related("notification")
        .order_by("-at", "-pk")[:100]
    ):
        bucket = recent.setdefault(delivery.notification.endpoint_id, [])
        if len(bucket) < 10:
            bucket.append(delivery)
    for endpoint in endpoints:
        endpoint.recent = recent.get(endpoint.pk, [])
    return render(
        request,
        "escalation/webhooks.html",
        {"endpoints": endpoints, "secret": secret, "error": error},
        status=400 if error else 200,
    )


@login_required
@require_POST
def webhook_action(request, pk, what):
    endpoint = webhook_endpoints.get_endpoint_for(request.user, pk)
    if what == "test":
        if not endpoint.is_active:
            messages.error(request, _("This endpoint is disabled."))
        else:
            webhook_events.notify_webhook_test(endpoint, uuid.uuid4().hex)
            messages.success(request, _("A test event is on its way."))
    elif what == "rotate":
        webhook_endpoints.rotate_secret(endpoint)
        messages.success(
            request,
            _("New secret: %(secret)s — shown once; the old one stays valid for 24 hours.")
            % {"secret": endpoint.secret},
        )
    elif what == "delete":
        endpoint.delete()
        messages.success(request, _("The webhook endpoint was removed."))
    else:
        raise Http404
    return redirect("webhook-list")
