"""What happens to a ticket, for the apps above tickets (after paperless-ngx's `signals/`).

tickets sends these from its services, inside the write's transaction; `sla` and `escalation`
connect their receivers in `AppConfig.ready()` (`sla/receivers.py`, `escalation/receivers.py`),
so tickets never calls the apps that build on it. Receivers run in the order their apps are
installed (sla before escalation); an exception in a receiver rolls the write back.

Every signal is sent with `sender=Ticket` and the keyword arguments listed.
"""

from django.dispatch import Signal

# ticket, actor: about to be registered; the ticket is numbered but its row is not written yet
# (no pk): receivers may set the columns they keep (sla: its summary), which the INSERT writes.
ticket_registering = Signal()
# ticket, actor: registered (number, audit and priority history are written).
ticket_created = Signal()
# ticket, actor, at, status_follows: the provider's first action, the response moment (SPEC §4);
# status_follows: a status change of the same write follows (`ticket_transitioned`), so its
# receivers may leave what both change (sla: the clocks) to that one.
ticket_responded = Signal()
# ticket, actor, changes ({field: [old, new]}), key (unique per edit): plain fields edited.
ticket_updated = Signal()
# ticket, actor, old_status, new_status, at, key (unique per move), note: the status moved.
ticket_transitioned = Signal()
# ticket, actor, old_priority, new_priority, at, reason: the priority changed with a reason.
priority_changed = Signal()
# ticket, update, announce (False: a status change's note, told with the status): an update
# was posted.
update_posted = Signal()
# ticket, actor, at: a workaround is in place (the restore clock stops; the ticket stays open).
workaround_recorded = Signal()
