"""Bulk actions on the queue's selected rows (issue 15): take, assign, status, priority.

Each ticket goes through the same service as the single action on the ticket page (its own
transaction, its own audit entry, its own notifications), so what the service refuses for one
ticket is refused here for that ticket alone, with the service's reason. Only tickets the agent
may see are looked up; any other number is refused as not found.
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pim.exceptions import IllegalStateChange

from . import services
from .models import Status, Ticket

BULK_MAX = 100  # rows per bulk action
TAKE, ASSIGN, STATUS, PRIORITY = "take", "assign", "status", "priority"
# The statuses a bulk change can reach without more input per ticket (resolving needs the
# resolution, planned external the customer's wish date: those stay on the ticket page).
BULK_STATUSES = (
    Status.PLANNED_INTERNAL,
    Status.WAITING_FOR_CUSTOMER,
    Status.RESPONSE_RECEIVED,
    Status.WAITING_FOR_SUPPLIER,
)


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """ "3 updated, 1 refused: INC-2026-00041 — reason"."""
        parts = [
            ngettext("%(count)d updated", "%(count)d updated", len(self.done))
            % {"count": len(self.done)}
        ]
        if self.refused:
            refused = ngettext("%(count)d refused", "%(count)d refused", len(self.refused)) % {
                "count": len(self.refused)
            }
            reasons = "; ".join(f"{number} — {reason}" for number, reason in self.refused)
            parts.append(f"{refused}: {reasons}")
        return ", ".join(parts)


def _reason(exc) -> str:
    if isinstance(exc, IllegalStateChange):
        return exc.message
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You may not do this.")


def _apply(ticket, actor, action, *, assignee=None, status=None, priority=None, reason=""):
    if action == TAKE:
        services.take(ticket, actor)
    elif action == ASSIGN:
        services.update_ticket(ticket, actor, assignee=assignee)
    elif action == STATUS:
        services.transition(ticket, actor, status, note=reason)
    elif action == PRIORITY:
        services.change_priority(ticket, actor, priority, reason)
    else:
        raise ValueError(action)


def apply(actor, numbers, action, **options) -> Outcome:
    """Apply `action` to the tickets `numbers` (at most BULK_MAX) that `actor` may see, one
    service call per ticket; each refusal is kept with its reason."""
    numbers = list(dict.fromkeys(numbers))
    if len(numbers) > BULK_MAX:
        raise ValueError(f"at most {BULK_MAX} tickets per bulk action")
    visible = Ticket.objects.visible_to(actor).select_related("assignee")
    tickets = {t.number: t for t in visible.filter(number__in=numbers)}
    outcome = Outcome()
    for number in numbers:
        ticket = tickets.get(number)
        if ticket is None:
            outcome.refused.append((number, _("no such ticket in your queue")))
            continue
        try:
            _apply(ticket, actor, action, **options)
        except (PermissionDenied, IllegalStateChange, ValidationError) as exc:
            outcome.refused.append((number, _reason(exc)))
        else:
            outcome.done.append(number)
    return outcome
