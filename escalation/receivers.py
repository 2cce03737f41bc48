"""escalation's reactions to tickets and the SLA sweep; connected in EscalationConfig.ready().

tickets and sla send signals (`tickets/signals.py`, `sla/signals.py`) and never call escalation;
these receivers write the notifications, escalations and webhook messages that follow, inside
the sender's transaction (the outbox delivers them after commit).
"""

from django.db.models import Max, Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from pim import config_cache
from pim.models import MANAGER_ROLES, Role, User
from sla import majorchange
from sla import services as sla_services
from sla import signals as sla_signals
from sla.models import ClockEvent
from tickets import signals as ticket_signals
from tickets.models import Kind, Status, Ticket, Visibility

from . import closing, customer, matrix, reminders
from .models import Trigger, TriggerEvent, WebhookEndpoint
from .outbox import notify_all
from .webhooks import events as webhook_events


@receiver(ticket_signals.ticket_created, sender=Ticket, dispatch_uid="escalation.created")
def ticket_registered(sender, ticket, **kwargs):
    """Registration (DESIGN §2 step 1): the receipt with the ticket number to the reporter, and
    the registration triggers (P1 → Low). A problem is provider-internal (SPEC §7): it has no
    customer to confirm to, no customer SLA clocks to escalate (sla has no targets for it) and
    no place in the organisation's webhooks, so a P1 problem raises nothing here."""
    if ticket.kind == Kind.PROBLEM:
        return
    with scopes_disabled():
        notify_all(
            [ticket.reporter],
            ticket=ticket,
            trigger="receipt",
            template="receipt",
            context={},
            now=ticket.created_at or timezone.now(),
            fresh=True,
        )
        if matrix.fire(ticket, TriggerEvent.REGISTERED, at=timezone.now()):
            # sla started the clocks first (receivers run in app order) and, asked for the
            # next check, saw a registration escalation still to raise: it is raised now.
            sla_services.recompute(ticket)
        webhook_events.ticket_created(ticket)


@receiver(ticket_signals.ticket_updated, sender=Ticket, dispatch_uid="escalation.updated")
def ticket_edited(sender, ticket, changes, key, **kwargs):
    webhook_events.ticket_updated(ticket, key, changed=sorted(changes))


@receiver(ticket_signals.update_posted, sender=Ticket, dispatch_uid="escalation.update")
def update_posted(sender, ticket, update, announce=True, **kwargs):
    """A public update goes to the webhooks and (unless a status change carries it) to the
    reporter and watchers; an internal one never leaves the building."""
    if update.visibility == Visibility.PUBLIC:
        webhook_events.ticket_updated(ticket, f"u{update.pk}", update=update.pk)
        if announce:
            with scopes_disabled():
                customer.update_posted(ticket, update)


@receiver(ticket_signals.ticket_transitioned, sender=Ticket, dispatch_uid="escalation.status")
def ticket_transitioned(sender, ticket, actor, old_status, new_status, key, note="", **kwargs):
    webhook_events.ticket_transitioned(ticket, old_status, new_status, key)
    with scopes_disabled():
        if new_status in (Status.RESOLVED, Status.CLOSED):
            closing.close_open_escalations(
                ticket, actor=actor, status=new_status, at=kwargs.get("at")
            )
        customer.status_changed(ticket, actor, old_status, new_status, f"s{key}", note)


@receiver(ticket_signals.priority_changed, sender=Ticket, dispatch_uid="escalation.priority")
def priority_changed(sender, ticket, actor, old_priority, new_priority, at, **kwargs):
    """The customers hear the new priority, why, and the new due times (sla recomputed them:
    its receiver runs first)."""
    webhook_events.ticket_updated(
        ticket, f"p{int(at.timestamp() * 1000)}", changed=["priority"], priority=new_priority
    )
    with scopes_disabled():
        customer.priority_changed(
            ticket, actor, old_priority, new_priority, at, reason=kwargs.get("reason", "")
        )


@receiver(sla_signals.sla_event_reached, sender=Ticket, dispatch_uid="escalation.sla_event")
def sla_event_reached(sender, ticket, event, now, ledger=None, **kwargs):
    """The sweep recorded an SLA event (at risk, breached, met): fire its triggers. The
    escalation is raised (and its deputy time counted) from now, the event keeps its moment."""
    if ticket.sla_not_applicable or event.kind not in (TriggerEvent.AT_RISK, TriggerEvent.BREACHED):
        return
    if is_history(ticket, event, ledger):
        return  # recorded as an SLA event only: nothing left to save, nobody to alarm
    webhook_events.sla_event(ticket, event)
    matrix.fire(ticket, event.kind, target=event.target, at=now or event.at)


def is_history(ticket, event, ledger=None) -> bool:
    """An SLA event that tells the past: the ticket is resolved or closed, or the clock was at
    risk or breached before the ticket's last resolution or closure (a sweep running late over
    a reopened ticket's history). `ledger`: the ticket's ledger the sweep read already."""
    if not ticket.is_open:
        return True
    ends = (ClockEvent.Kind.RESOLVED, ClockEvent.Kind.CLOSED)
    if ledger is not None:
        last_end = max((e.at for e in ledger if e.kind in ends), default=None)
    else:
        last_end = ClockEvent.objects.filter(ticket=ticket, kind__in=ends).aggregate(at=Max("at"))[
            "at"
        ]
    return last_end is not None and event.at <= last_end


@receiver(sla_signals.ticket_evaluated, sender=Ticket, dispatch_uid="escalation.evaluated")
def ticket_evaluated(sender, ticket, now, terms, **kwargs):
    """Reminders (SPEC §3.2), and a priority change to P1 starts the escalation procedure
    (SPEC §5). True when a reminder moved the clocks (the sweep recomputes)."""
    changed = reminders.run(ticket, now, terms=terms)
    if matrix.needs_registration_escalation(ticket):
        matrix.fire(ticket, TriggerEvent.REGISTERED, at=now)
    return changed


@receiver(sla_signals.sweep_finished, sender=Ticket, dispatch_uid="escalation.deputies")
def sweep_finished(sender, now, **kwargs):
    matrix.fallback_to_deputies(now)


@receiver(post_save, sender=Trigger, dispatch_uid="escalation.trigger_saved")
@receiver(post_delete, sender=Trigger, dispatch_uid="escalation.trigger_deleted")
def trigger_changed(sender, **kwargs):
    """The active triggers are a configuration copy (`matrix.active_triggers`)."""
    config_cache.changed()


@receiver(post_save, sender=WebhookEndpoint, dispatch_uid="escalation.endpoint_saved")
@receiver(post_delete, sender=WebhookEndpoint, dispatch_uid="escalation.endpoint_deleted")
def endpoint_changed(sender, instance, **kwargs):
    """Which organisations have no endpoint is a configuration copy (`webhooks.events`)."""
    config_cache.changed()


@receiver(sla_signals.sla_document_announced, dispatch_uid="escalation.sla_document")
def sla_document_announced(sender, version, now=None, **kwargs):
    """A new SLA version: its organisation's active authorised contacts are told, once per
    version (the dedup key), by e-mail and in the portal."""
    contract = version.contract
    contacts = User.objects.filter(
        is_active=True,
        membership__role=Role.AUTHORISED_CONTACT,
        membership__organization_id=contract.organization_id,
    ).order_by("pk")
    notify_all(
        contacts,
        ticket=None,
        trigger=f"sla_document:{version.pk}:announce",
        template=SLA_DOCUMENT_TEMPLATE,
        context={
            "version": version.pk,
            "number": version.number,
            "effective_from": version.effective_from.isoformat(),
            "url": reverse("sla-documents"),
            **(
                {"objection_due": majorchange.route(version).objection_due.isoformat()}
                if version.route_state
                else {}
            ),
        },
        now=now or timezone.now(),
    )


@receiver(sla_signals.sla_document_notice, dispatch_uid="escalation.sla_document_notice")
def sla_document_notice(sender, version, key, audience, now=None, context=None, **kwargs):
    """A step of a Major Change route or a reminder before a version takes effect: the
    organisation's active authorised contacts and/or the provider's managers are told, once per
    (version, key, person), by e-mail and in the portal."""
    people = Q(pk__in=[])
    if "contacts" in audience:
        people |= Q(
            membership__role=Role.AUTHORISED_CONTACT,
            membership__organization_id=version.contract.organization_id,
        )
    if "managers" in audience:
        people |= Q(membership__role__in=sorted(MANAGER_ROLES))
    notify_all(
        User.objects.filter(people, is_active=True).order_by("pk"),
        ticket=None,
        trigger=f"sla_document:{version.pk}:{key}",
        template=SLA_ROUTE_TEMPLATE,
        context={
            **(context or {}),
            "version": version.pk,
            "number": version.number,
            "organization": version.contract.organization.name,
            "effective_from": version.effective_from.isoformat(),
            "url": reverse("sla-documents"),
        },
        now=now or timezone.now(),
    )


SLA_ROUTE_TEMPLATE = "sla_route"


SLA_DOCUMENT_TEMPLATE = "sla_document"
