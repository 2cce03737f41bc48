"""sla's reactions to what happens to tickets (`tickets.signals`); connected in SlaConfig.ready().

Each receiver runs inside the ticket write's transaction: a ticket and its clocks change together.
"""

from django.dispatch import receiver

from tickets import signals
from tickets.models import Ticket

from . import services
from .models import ClockEvent


@receiver(signals.ticket_created, sender=Ticket, dispatch_uid="sla.start")
def start_clocks(sender, ticket, actor, **kwargs):
    services.start(ticket, actor)


@receiver(signals.ticket_responded, sender=Ticket, dispatch_uid="sla.responded")
def record_response(sender, ticket, actor, at, **kwargs):
    services.on_responded(ticket, at, actor)


@receiver(signals.priority_changed, sender=Ticket, dispatch_uid="sla.priority")
def record_priority(sender, ticket, actor, new_priority, at, **kwargs):
    services.on_priority_change(ticket, new_priority, actor, at)


@receiver(signals.workaround_recorded, sender=Ticket, dispatch_uid="sla.workaround")
def record_workaround(sender, ticket, actor, at, **kwargs):
    services.record(ticket, ClockEvent.Kind.WORKAROUND, at=at, actor=actor)


@receiver(signals.ticket_transitioned, sender=Ticket, dispatch_uid="sla.status")
def record_status(sender, ticket, actor, old_status, new_status, at, **kwargs):
    services.on_status_change(ticket, old_status, new_status, actor, at)
