"""Escalation writes (SPEC §5) and the notification outbox (DESIGN §2 steps 4–5).

Everything here runs inside the caller's transaction: an escalation and its notification rows
commit together with the event that caused them (a ticket registered, an SLA event recorded by
the sweep, a customer's escalation). Each notification row has a unique dedup key
(ticket, trigger, level, recipient, channel), so running any of this twice, late or concurrently
creates nothing twice. Delivery is enqueued after commit; the relay catches what the broker lost.
"""

import contextvars
import logging
import time
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from pim.models import Role, User
from tickets.models import Status, Ticket

from .models import (
    LEVEL_ORDER,
    Channel,
    Escalation,
    Level,
    MatrixRow,
    Notification,
    NotificationStatus,
    Trigger,
    TriggerEvent,
    level_rank,
)

log = logging.getLogger(__name__)

CUSTOMER_TRIGGER = "customer"
ACK_SALT = "escalation.acknowledge"
ACK_MAX_AGE = 14 * 24 * 3600


# --- the outbox -----------------------------------------------------------------------------


def dedup_key(ticket, trigger, level, recipient, channel):
    ticket_part = f"t{ticket.pk}" if ticket is not None else "-"
    return f"{ticket_part}:{trigger}:{level or '-'}:u{recipient.pk}:{channel}"[:200]


# After the broker refused a message, skip enqueueing for a while: the relay sends the rows, and
# requests do not each wait for a connection timeout during an outage.
BROKER_BACKOFF_SECONDS = 30
_broker_down_until = 0.0


def enqueue(notification_id, *, force=False):
    """Hand a notification to the broker; if the broker is down the relay sends it later."""
    global _broker_down_until
    from . import tasks

    if not force and time.monotonic() < _broker_down_until:
        return False
    try:
        tasks.deliver.apply_async((notification_id,), retry=False)
    except Exception as exc:  # noqa: BLE001 - the outbox row is safe; the relay retries
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        log.warning(
            "notification %s not enqueued (%s); the relay sends it",
            notification_id,
            exc.__class__.__name__,
        )
        return False
    _broker_down_until = 0.0
    return True


def notify(recipient, channel, *, ticket, trigger, level="", template, context=None, now=None):
    """Write one outbox row (once per dedup key); returns (notification, created)."""
    if channel == Channel.EMAIL and not recipient.email:
        return None, False
    now = now or timezone.now()
    in_app = channel == Channel.IN_APP
    notification, created = Notification.objects.get_or_create(
        dedup_key=dedup_key(ticket, trigger, level, recipient, channel),
        defaults={
            "ticket": ticket,
            "escalation_id": (context or {}).get("escalation"),
            "recipient": recipient,
            "channel": channel,
            "trigger": trigger[:80],
            "level": level or "",
            "template": template,
            "context": context or {},
            "created_at": now,
            # In-app notifications are delivered by existing: the bell reads the table.
            "status": NotificationStatus.SENT if in_app else NotificationStatus.PENDING,
            "sent_at": now if in_app else None,
        },
    )
    if created and not in_app:
        transaction.on_commit(partial(enqueue, notification.pk))
    return notification, created


def notify_webhooks(organization, event_type, payload, *, ticket=None, key, now=None):
    """One webhook outbox row per active endpoint of `organization` subscribed to `event_type`
    (once per endpoint and `key`); returns the new rows. `payload` is the message's `data`: it
    must describe `organization`'s own objects only."""
    from .models import WebhookEndpoint

    if organization is None:
        return []
    if ticket is not None and ticket.organization_id != organization.pk:
        raise ValueError("a webhook carries only its own organisation's ticket")
    now = now or timezone.now()
    created = []
    with scopes_disabled():
        endpoints = WebhookEndpoint.objects.filter(organization=organization, is_active=True)
        for endpoint in endpoints.order_by("pk"):
            if not endpoint.subscribes_to(event_type):
                continue
            notification, new = Notification.objects.get_or_create(
                dedup_key=f"wh:e{endpoint.pk}:{event_type}:{key}"[:200],
                defaults={
                    "ticket": ticket,
                    "endpoint": endpoint,
                    "channel": Channel.WEBHOOK,
                    "trigger": event_type[:80],
                    "template": "webhook",
                    "context": {"data": payload},
                    "created_at": now,
                },
            )
            if new:
                transaction.on_commit(partial(enqueue, notification.pk))
                created.append(notification)
    return created


def may_manage_webhooks(user):
    """Authorised contacts (their own organisation) and provider admins."""
    return user.is_authenticated and (user.is_authorised_contact or user.role == "admin")


def webhook_endpoints_for(user):
    """The endpoints `user` may manage (tenant-scoped); none for anybody else."""
    from pim.scoping import organization_filter

    from .models import WebhookEndpoint

    if not may_manage_webhooks(user):
        return WebhookEndpoint.objects.none()
    return WebhookEndpoint.objects.filter(organization_filter(user)).order_by("-pk")


def create_webhook_endpoint(user, url, event_types=None, organization=None):
    """A new endpoint (URL checked against the SSRF rules); its secret is shown once."""
    from pim.models import Organization

    from . import webhooks
    from .models import ALL_EVENTS, WebhookEndpoint

    if not may_manage_webhooks(user):
        raise PermissionDenied(_("Only authorised contacts and admins manage webhooks."))
    if user.role != "admin":
        organization = Organization.objects.get(pk=user.organization_id_or_none)
    elif organization is None:
        raise ValidationError({"organization": _("Choose the organisation.")})
    webhooks.validate_url(url, allow_private=False)
    return WebhookEndpoint.objects.create(
        organization=organization, url=url, event_types=event_types or [ALL_EVENTS]
    )


def rotate_webhook_secret(endpoint):
    """A new secret; for 24 hours messages are signed with the old one too."""
    from .models import new_webhook_secret

    endpoint.previous_secret = endpoint.secret
    endpoint.secret = new_webhook_secret()
    endpoint.rotated_at = timezone.now()
    endpoint.save(update_fields=["previous_secret", "secret", "rotated_at"])
    return endpoint


def notify_webhook_test(endpoint, key):
    """A `webhook.test` message for one endpoint (the "send test event" button)."""
    now = timezone.now()
    data = {"endpoint": endpoint.pk, "message": "This is a test event from PIM."}
    notification, new = Notification.objects.get_or_create(
        dedup_key=f"wh:e{endpoint.pk}:webhook.test:{key}"[:200],
        defaults={
            "endpoint": endpoint,
            "channel": Channel.WEBHOOK,
            "trigger": "webhook.test",
            "template": "webhook",
            "context": {"data": data},
            "created_at": now,
        },
    )
    if new:
        transaction.on_commit(partial(enqueue, notification.pk))
    return notification, new


def _ticket_webhook(ticket, event_type, key, **extra):
    from .webhooks import ticket_data

    data = {**ticket_data(ticket), **extra}
    return notify_webhooks(ticket.organization, event_type, data, ticket=ticket, key=key)


def on_ticket_transitioned(ticket, old_status, new_status, key):
    """ticket.transitioned for the organisation's webhooks (`key`: the audit entry)."""
    return _ticket_webhook(
        ticket, "ticket.transitioned", f"tr{key}", previous_status=old_status, status=new_status
    )


def on_ticket_updated(ticket, key, **extra):
    """ticket.updated: fields changed or a public update was posted (`key` names the event)."""
    return _ticket_webhook(ticket, "ticket.updated", key, **extra)


def _sla_webhook(ticket, event):
    key = f"t{ticket.pk}:{event.target}"
    return _ticket_webhook(ticket, f"sla.{event.kind}", key, target=event.target)


def _escalation_webhook(escalation):
    # Only escalations customers see in the portal (raised by a customer) leave the building;
    # internal escalations stay internal.
    if escalation.trigger != CUSTOMER_TRIGGER:
        return []
    return _ticket_webhook(
        escalation.ticket,
        "escalation.raised",
        f"esc{escalation.pk}",
        escalation={"id": escalation.pk, "level": escalation.level, "reason": escalation.reason},
    )


def notify_all(recipients, *, channels=(Channel.EMAIL, Channel.IN_APP), **kwargs):
    created = []
    for user in recipients:
        for channel in channels:
            notification, new = notify(user, channel, **kwargs)
            if new:
                created.append(notification)
    return created


# --- the matrix -----------------------------------------------------------------------------


def matrix_row(level):
    return MatrixRow.objects.filter(level=level).first()


def users_with_roles(roles):
    return list(
        User.objects.filter(is_active=True, membership__role__in=list(roles))
        .select_related("membership")
        .order_by("pk")
    )


def recipients(escalation, tier, row=None):
    """The users of the level's owner (tier 0), 1st (1) or 2nd deputy (2), mapped by role.

    For the owner tier, an assignee who holds one of the owner roles is the owner; otherwise
    every active user with one of the roles is notified.
    """
    row = row or matrix_row(escalation.level)
    if row is None:
        return []
    roles = row.roles_for_tier(tier)
    assignee = escalation.ticket.assignee
    if tier == 0 and assignee is not None and assignee.is_active and assignee.role in roles:
        return [assignee]
    return users_with_roles(roles)


def deputy_delay(row):
    minutes = row.deputy_after_minutes if row and row.deputy_after_minutes else None
    return timedelta(minutes=minutes or settings.ESCALATION_DEPUTY_MINUTES)


def notification_trigger(escalation):
    if escalation.trigger == CUSTOMER_TRIGGER:
        return f"{CUSTOMER_TRIGGER}:{escalation.pk}"
    return escalation.trigger


def notify_tier(escalation, tier, row=None, now=None):
    row = row or matrix_row(escalation.level)
    return notify_all(
        recipients(escalation, tier, row),
        ticket=escalation.ticket,
        trigger=notification_trigger(escalation),
        level=escalation.level,
        template="escalation",
        context={"escalation": escalation.pk, "tier": tier},
        now=now,
    )


# --- triggers ---------------------------------------------------------------------------------
# During a sweep the active triggers are read once (not once per ticket); elsewhere each call
# reads the table, so an edit in the admin applies at once.
_sweep_triggers = contextvars.ContextVar("escalation_sweep_triggers", default=None)


@contextmanager
def triggers_cached():
    token = _sweep_triggers.set(list(Trigger.objects.filter(active=True)))
    try:
        yield
    finally:
        _sweep_triggers.reset(token)


def active_triggers(event, target=None):
    cached = _sweep_triggers.get()
    rows = cached if cached is not None else Trigger.objects.filter(active=True, event=event)
    return [t for t in rows if t.event == event and (target is None or t.target == (target or ""))]


# --- raising --------------------------------------------------------------------------------


def _audit(ticket, actor, action, changes, obj):
    from tickets.services import record_audit as audit

    return audit(ticket, actor, action, changes, obj=obj)


def raise_escalation(ticket, level, trigger, *, at=None, reason="", raised_by=None):
    """Raise an escalation and notify the level's owner. Clock and registration triggers raise
    once per ticket (a second call returns the first); returns (escalation, created)."""
    at = at or timezone.now()
    if trigger != CUSTOMER_TRIGGER:
        existing = Escalation.objects.filter(ticket=ticket, trigger=trigger).first()
        if existing is not None:
            return existing, False
    row = matrix_row(level)
    try:
        with transaction.atomic():
            escalation = Escalation.objects.create(
                ticket=ticket,
                level=level,
                trigger=trigger,
                reason=reason,
                raised_by=raised_by,
                raised_at=at,
                tier=0,
                next_deputy_at=at + deputy_delay(row),
            )
    except IntegrityError:  # a concurrent evaluation raised it first
        return Escalation.objects.get(ticket=ticket, trigger=trigger), False
    notify_tier(escalation, 0, row, now=at)
    _escalation_webhook(escalation)
    _audit(
        ticket,
        raised_by,
        "escalated",
        {"level": [None, level], "trigger": [None, trigger]},
        escalation,
    )
    return escalation, True


def fire(ticket, event, *, target="", at=None):
    """Raise what the active triggers of `event` (and `target`) ask for."""
    raised = []
    for trigger in active_triggers(event, target or ""):
        if trigger.applies_to(ticket):
            escalation, created = raise_escalation(ticket, trigger.level, trigger.code, at=at)
            if created:
                raised.append(escalation)
    return raised


def on_ticket_created(ticket):
    """Registration (DESIGN §2 step 1): the receipt with the ticket number to the reporter, and
    the registration triggers (P1 → Low). Called by tickets.services.create_ticket."""
    with scopes_disabled():
        notify_all(
            [ticket.reporter],
            ticket=ticket,
            trigger="receipt",
            template="receipt",
            context={},
            now=ticket.created_at or timezone.now(),
        )
        fire(ticket, TriggerEvent.REGISTERED, at=timezone.now())
        _ticket_webhook(ticket, "ticket.created", f"t{ticket.pk}")


def on_sla_event(ticket, event, now=None):
    """The sweep recorded an SLA event (at risk, breached, met): fire its triggers. The
    escalation is raised (and its deputy time counted) from now, the event keeps its moment."""
    if ticket.sla_not_applicable or event.kind not in (TriggerEvent.AT_RISK, TriggerEvent.BREACHED):
        return []
    _sla_webhook(ticket, event)
    return fire(ticket, event.kind, target=event.target, at=now or event.at)


def needs_registration_escalation(ticket):
    """A ticket (re)classified so that a registration trigger applies, not yet escalated."""
    if not ticket.is_open:
        return False
    codes = [
        t.code for t in active_triggers(TriggerEvent.REGISTERED) if t.applies_to(ticket)
    ]  # fmt: skip
    if not codes:
        return False
    return Escalation.objects.filter(ticket=ticket, trigger__in=codes).count() < len(codes)


def on_ticket_evaluated(ticket, now):
    """Sweep hook: a priority change to P1 starts the escalation procedure (SPEC §5)."""
    if needs_registration_escalation(ticket):
        fire(ticket, TriggerEvent.REGISTERED, at=now)


def run_reminders(ticket, now, terms=None):
    from . import reminders

    return reminders.run(ticket, now, terms=terms)


# --- deputies and acknowledgement -----------------------------------------------------------


def fallback_to_deputies(now=None, batch_size=500):
    """Unacknowledged escalations whose time ran out go to the next deputy."""
    now = now or timezone.now()
    moved = 0
    with scopes_disabled(), transaction.atomic():
        qs = Escalation.objects.filter(
            next_deputy_at__lte=now, acknowledged_at__isnull=True
        ).order_by("next_deputy_at")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        for escalation in qs.select_related("ticket")[:batch_size]:
            row = matrix_row(escalation.level)
            escalation.tier = min(escalation.tier + 1, 2)
            escalation.next_deputy_at = now + deputy_delay(row) if escalation.tier < 2 else None
            escalation.save(update_fields=["tier", "next_deputy_at"])
            notify_tier(escalation, escalation.tier, row, now=now)
            moved += 1
    return moved


def may_acknowledge(escalation, user):
    if user is None or not user.is_authenticated or not user.is_provider_staff:
        return False
    if user.role == Role.ADMIN:
        return True
    return Notification.objects.filter(escalation=escalation, recipient=user).exists()


def acknowledge(escalation, user, now=None):
    """The recipient takes the escalation: no more deputies. Acknowledging twice is a no-op."""
    with scopes_disabled():
        if not may_acknowledge(escalation, user):
            raise PermissionDenied(_("Only a recipient of this escalation can acknowledge it."))
        now = now or timezone.now()
        with transaction.atomic():
            updated = Escalation.objects.filter(
                pk=escalation.pk, acknowledged_at__isnull=True
            ).update(acknowledged_at=now, acknowledged_by=user, next_deputy_at=None)
            if updated:
                _audit(
                    escalation.ticket,
                    user,
                    "escalation_acknowledged",
                    {"level": escalation.level},
                    escalation,
                )
        escalation.refresh_from_db()
    return escalation


def acknowledge_token(escalation, user):
    return signing.dumps({"e": escalation.pk, "u": user.pk}, salt=ACK_SALT, compress=True)


def read_acknowledge_token(token):
    """(escalation, user) from a signed link, or None when the link is invalid or expired."""
    try:
        data = signing.loads(token, salt=ACK_SALT, max_age=ACK_MAX_AGE)
    except signing.BadSignature:
        return None
    with scopes_disabled():
        escalation = Escalation.objects.select_related("ticket").filter(pk=data.get("e")).first()
        user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if escalation is None or user is None:
        return None
    return escalation, user


# --- customer-initiated escalation ------------------------------------------------------------


def escalate_by_customer(ticket, user, reason, now=None):
    """An authorised contact escalates (SPEC §5, escalation by performance) with a reason. The
    level is the customer trigger's, or one above the ticket's highest escalation so far."""
    if user is None or not user.is_authenticated or not user.is_authorised_contact:
        raise PermissionDenied(_("Only authorised contacts can escalate a ticket."))
    if not Ticket.objects.visible_to(user).filter(pk=ticket.pk).exists():
        raise PermissionDenied(_("You cannot act on this ticket."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why you escalate this ticket.")})
    if ticket.status == Status.CLOSED:
        raise ValidationError({"reason": _("This ticket is closed; please open a new ticket.")})
    now = now or timezone.now()
    with transaction.atomic(), scopes_disabled():
        trigger = Trigger.objects.filter(event=TriggerEvent.CUSTOMER, active=True).first()
        level = trigger.level if trigger else Level.LOW
        highest = [level_rank(e.level) for e in Escalation.objects.filter(ticket=ticket)]
        if highest:
            level = LEVEL_ORDER[max(level_rank(level), min(max(highest) + 1, 3))]
        escalation, _created = raise_escalation(
            ticket, level, CUSTOMER_TRIGGER, at=now, reason=reason[:5000], raised_by=user
        )
    return escalation


def escalations_for(ticket, user):
    """The escalations of a ticket `user` may see: staff all, customers the ones customers
    raised (internal escalations stay internal)."""
    qs = Escalation.objects.filter(ticket__in=Ticket.objects.visible_to(user), ticket=ticket)
    if not user.is_provider_staff:
        qs = qs.filter(trigger=CUSTOMER_TRIGGER)
    return qs.select_related("raised_by", "acknowledged_by")


def mark_read(user, notification_ids=None, now=None):
    qs = Notification.objects.filter(recipient=user, channel=Channel.IN_APP, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=notification_ids)
    return qs.update(read_at=now or timezone.now())
