"""What escalation adds to the ticket page (registered in EscalationConfig.ready())."""

from pim.permissions import may_escalate
from sla.dashboard import register_part
from tickets import extensions

from .dashboard import dashboard_part, escalation_q
from .models import Level
from .services import escalations_for


def ticket_page_context(request, ticket, forms):
    """The ticket's escalations (customers: those customers raised) and the escalate button."""
    return {
        "escalations": escalations_for(ticket, request.user),
        "can_escalate": may_escalate(request.user) and ticket.is_open,
    }


def register():
    extensions.register_detail_context(ticket_page_context)
    extensions.register_list_filter(
        "escalation", extensions.ListFilter(choices=lambda: Level.choices, q=escalation_q)
    )
    register_part("escalations", dashboard_part)
