"""What the SLA sweep finds, for the apps above sla (escalation connects its receivers).

Sent with `sender=Ticket` inside the sweep's transaction for the ticket.
"""

from django.dispatch import Signal

# ticket, event (an SlaEvent just recorded: at risk, breached or met), now, ledger (the
# ticket's clock ledger as engine Events, oldest first, when the sweep's batch read it; or None).
sla_event_reached = Signal()
# ticket, now, terms (the ticket's TicketSla or None): the sweep evaluated the ticket. A
# receiver returns True when it changed something that moves the clocks (a reminder paused or
# closed the ticket); the sweep then recomputes the ticket.
ticket_evaluated = Signal()
# now: a sweep finished its batches (escalation moves unacknowledged escalations on).
sweep_finished = Signal()
# version (an SlaDocumentVersion just registered), now: tell the organisation's authorised
# contacts (escalation writes the outbox rows, once per version).
sla_document_announced = Signal()
# version, key (the step or reminder, unique per version), audience ("contacts" and/or
# "managers"), now, context (the dates the message names): a step of the Major Change route or a
# reminder (`sla.majorchange`); escalation writes the outbox rows, once per key and person.
sla_document_notice = Signal()
# report (a MonthlyReport just made), now: tell the organisation's authorised contacts and the
# provider's managers (escalation writes the outbox rows, once per report and person; the e-mail
# carries the PDF).
monthly_report_ready = Signal()
