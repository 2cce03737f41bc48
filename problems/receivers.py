"""problems' reactions to tickets and changes; connected in ProblemsConfig.ready()."""

from django.dispatch import receiver
from django_scopes import scopes_disabled

from changes import signals as change_signals
from changes.models import ChangeRequest
from tickets import signals as ticket_signals
from tickets.models import Kind, Ticket

from . import services


@receiver(ticket_signals.ticket_created, sender=Ticket, dispatch_uid="problems.created")
def ticket_registered(sender, ticket, **kwargs):
    """Every problem ticket gets its problem row (also one registered through the ticket API)."""
    if ticket.kind == Kind.PROBLEM:
        with scopes_disabled():
            services.ensure_problem(ticket)


@receiver(change_signals.change_finished, sender=ChangeRequest, dispatch_uid="problems.fix")
def change_finished(sender, change, ticket, **kwargs):
    """A closed (not cancelled) change fixes the known errors linked to it."""
    with scopes_disabled():
        services.fix_by_change(change)
