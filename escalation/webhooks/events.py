"""Which events become webhook messages, and what they say.

Each message is an outbox row (channel "webhook", one per active endpoint subscribed to the event,
once per endpoint and key) delivered by `transport.send`. A message describes its organisation's
own objects only.
"""

import contextvars
from contextlib import contextmanager

from django.utils import timezone
from django_scopes import scopes_disabled

from pim import config_cache

from ..models import CUSTOMER_TRIGGER, Channel, WebhookEndpoint, WebhookEvent
from ..outbox import write

# Most organisations have no webhook endpoint: each process keeps that as a configuration copy
# (`pim.config_cache`), so a ticket write does not ask the table each time. Every save or delete
# of an endpoint makes it stale (`escalation/receivers.py`); an endpoint disabled by an update()
# is at worst asked for again.
# During a sweep the answer is kept per organisation for the whole sweep (`endpoints_pinned`,
# entered by the sweep like the active triggers).
_sweep_memo = contextvars.ContextVar("escalation_webhook_memo", default=None)


@contextmanager
def endpoints_pinned():
    token = _sweep_memo.set({})
    try:
        yield
    finally:
        _sweep_memo.reset(token)


def _without_endpoints(organization_id):
    with scopes_disabled():
        return not WebhookEndpoint.objects.filter(
            organization_id=organization_id, is_active=True
        ).exists()


def _known_without_endpoints(organization_id):
    memo = _sweep_memo.get()
    if memo is not None and organization_id in memo:
        return memo[organization_id]
    none = config_cache.get(
        ("escalation:no-webhooks", organization_id),
        lambda: _without_endpoints(organization_id),
    )
    if memo is not None:
        memo[organization_id] = none
    return none


def notify_webhooks(organization, event_type, payload, *, ticket=None, key, now=None):
    """One webhook outbox row per active endpoint of `organization` subscribed to `event_type`
    (once per endpoint and `key`); returns the new rows. `payload` is the message's `data`: it
    must describe `organization`'s own objects only."""
    if organization is None:
        return []
    if ticket is not None and ticket.organization_id != organization.pk:
        raise ValueError("a webhook carries only its own organisation's ticket")
    now = now or timezone.now()
    created = []
    if _known_without_endpoints(organization.pk):
        return created
    with scopes_disabled():
        endpoints = list(
            WebhookEndpoint.objects.filter(organization=organization, is_active=True).order_by("pk")
        )
        for endpoint in endpoints:
            if not endpoint.subscribes_to(event_type):
                continue
            notification, new = _write(endpoint, event_type, key, payload, now, ticket=ticket)
            if new:
                created.append(notification)
    return created


def notify_webhook_test(endpoint, key):
    """A `webhook.test` message for one endpoint (the "send test event" button)."""
    data = {"endpoint": endpoint.pk, "message": "This is a test event from PIM."}
    return _write(endpoint, WebhookEvent.TEST, key, data, timezone.now())


def _write(endpoint, event_type, key, data, now, ticket=None):
    return write(
        f"wh:e{endpoint.pk}:{event_type}:{key}",
        ticket=ticket,
        endpoint=endpoint,
        channel=Channel.WEBHOOK,
        trigger=str(event_type)[:80],
        template="webhook",
        context={"data": data},
        created_at=now,
    )


# --- ticket events --------------------------------------------------------------------------


def ticket_data(ticket):
    """What a webhook says about a ticket: only the ticket's own organisation's fields."""
    return {
        "ticket": {
            "id": ticket.pk,
            "number": ticket.number,
            "title": ticket.title,
            "kind": ticket.kind,
            "priority": ticket.priority,
            "status": ticket.status,
            "organization": ticket.organization.slug,
        }
    }


def ticket_event(ticket, event_type, key, **extra):
    if ticket.kind == "problem":
        return []  # provider-internal: never sent to an organisation's endpoints
    if _known_without_endpoints(ticket.organization_id):
        return []  # known to have no endpoint: not even the organisation is read
    data = {**ticket_data(ticket), **extra}
    return notify_webhooks(ticket.organization, event_type, data, ticket=ticket, key=key)


def ticket_created(ticket):
    return ticket_event(ticket, WebhookEvent.TICKET_CREATED, f"t{ticket.pk}")


def ticket_transitioned(ticket, old_status, new_status, key):
    """ticket.transitioned for the organisation's webhooks (`key`: the audit entry)."""
    return ticket_event(
        ticket,
        WebhookEvent.TICKET_TRANSITIONED,
        f"tr{key}",
        previous_status=old_status,
        status=new_status,
    )


def ticket_updated(ticket, key, **extra):
    """ticket.updated: fields changed or a public update was posted (`key` names the event)."""
    return ticket_event(ticket, WebhookEvent.TICKET_UPDATED, key, **extra)


def sla_event(ticket, event):
    key = f"t{ticket.pk}:{event.target}"
    return ticket_event(ticket, f"sla.{event.kind}", key, target=event.target)


def escalation_raised(escalation):
    # Only escalations customers see in the portal (raised by a customer) leave the building;
    # internal escalations stay internal.
    if escalation.trigger != CUSTOMER_TRIGGER:
        return []
    return ticket_event(
        escalation.ticket,
        WebhookEvent.ESCALATION_RAISED,
        f"esc{escalation.pk}",
        escalation={"id": escalation.pk, "level": escalation.level, "reason": escalation.reason},
    )


def escalation_acknowledged(escalation):
    """escalation.acknowledged: the provider took up a customer's escalation (internal
    escalations are never sent, nor their acknowledgement)."""
    if not escalation.trigger.startswith(CUSTOMER_TRIGGER):
        return []
    return ticket_event(
        escalation.ticket,
        WebhookEvent.ESCALATION_ACKNOWLEDGED,
        f"ack{escalation.pk}",
        escalation={
            "id": escalation.pk,
            "level": escalation.level,
            "acknowledged_at": escalation.acknowledged_at.isoformat(),
        },
    )
