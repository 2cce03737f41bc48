"""reviews' reactions to the SLA sweep; connected in ReviewsConfig.ready()."""

from django.dispatch import receiver

from sla import signals as sla_signals
from tickets.models import Ticket

from . import notifications


@receiver(sla_signals.ticket_evaluated, sender=Ticket, dispatch_uid="reviews.evaluated")
def ticket_evaluated(sender, ticket, now, **kwargs):
    """Overdue review actions: their owners are reminded (True: the next check moves on)."""
    return notifications.remind_overdue(ticket, now)
