"""A ticket's whole life with personal data everywhere it can go, in March 2024."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from escalation import services as escalation_services
from intake import services as intake_services
from tests.intake.conftest import message_bytes
from tickets import services
from tickets.models import Status

AMS = ZoneInfo("Europe/Amsterdam")
CLOSED_AT = datetime(2024, 3, 4, 10, 0, tzinfo=AMS)
PHONE, EMAIL = "06-12345678", "anna.devries@acme.example"
RESOLUTION = {
    "resolution_type": "definitive",
    "resolution_cause": f"Toner empty; reported by {EMAIL}.",
    "resolution_how": "Replaced the toner.",
}


@pytest.fixture
def history(users, acme):
    """acme.user's e-mailed ticket (two attachments, the raw message), her reply, staff
    updates that quote her number and address, a priority change, acme.contact's escalation,
    resolved and confirmed (closed) on 4 March 2024; plus an e-mail from an unknown sender
    held for triage, an old ticket still open, and one closed much later."""
    agent, customer = users["agent"], users["acme.user"]
    with freeze_time("2024-01-15 09:00:00"):
        still_open = services.create_ticket(
            actor=customer, title=f"Call me on {PHONE}", description=f"Mail {EMAIL}", priority=4
        )
    # No on-commit callbacks here: delivering notifications is not the subject, and a broker
    # connection retried under frozen time would never time out.
    with freeze_time(CLOSED_AT):
        message = intake_services.ingest(message_bytes("multipart_attachments.eml"))
        ticket = message.ticket
        held = intake_services.ingest(message_bytes("unknown_sender.eml"))
        services.add_update(ticket, customer, f"Call me on {PHONE}, Anna ({EMAIL})")
        services.take(ticket, agent)
        services.add_update(ticket, agent, f"Called Anna on {PHONE} and mailed {EMAIL}.")
        services.change_priority(ticket, agent, 2, f"Customer ({PHONE}) says a whole floor")
        escalation_services.escalate_by_customer(
            ticket, users["acme.contact"], "Call 020 123 4567 to discuss"
        )
        services.transition(ticket, agent, Status.RESOLVED, resolution=RESOLUTION)
        services.confirm_resolution(ticket, customer)
    with freeze_time("2025-11-03 12:00:00"):
        later = services.create_ticket(
            actor=users["acme.user2"], title="Later", description=f"Mail {EMAIL}", priority=4
        )
        services.transition(later, agent, Status.RESOLVED, resolution=RESOLUTION)
        services.confirm_resolution(later, users["acme.user2"])
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.closed_at == CLOSED_AT
    assert ticket.attachments.count() == 2 and message.raw
    return {"ticket": ticket, "message": message, "held": held, "open": still_open, "later": later}
