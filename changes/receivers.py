"""changes' reactions to tickets; connected in ChangesConfig.ready()."""

from django.dispatch import receiver
from django_scopes import scopes_disabled

from sla import signals as sla_signals
from tickets import signals as ticket_signals
from tickets.models import Kind, Ticket

from . import reminders, services


@receiver(ticket_signals.ticket_created, sender=Ticket, dispatch_uid="changes.created")
def ticket_registered(sender, ticket, **kwargs):
    """Every change ticket gets its change request (receipt: the quote is due from now)."""
    if ticket.kind == Kind.CHANGE:
        with scopes_disabled():
            services.open_request(ticket)


@receiver(ticket_signals.ticket_transitioned, sender=Ticket, dispatch_uid="changes.status")
def ticket_transitioned(sender, ticket, old_status, new_status, note="", **kwargs):
    if ticket.kind == Kind.CHANGE:
        with scopes_disabled():
            services.ticket_moved(ticket, old_status, new_status, note)


@receiver(sla_signals.ticket_evaluated, sender=Ticket, dispatch_uid="changes.evaluated")
def ticket_evaluated(sender, ticket, now, **kwargs):
    """The progress reminder of a large change in progress; True when one was sent (the sweep
    recomputes, which moves the next check to the next interval)."""
    if ticket.kind == Kind.CHANGE:
        return reminders.run(ticket, now)
    return False
