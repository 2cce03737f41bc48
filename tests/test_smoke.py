from tickets import services
from tickets.models import Status


def test_ticket_lifecycle(make_ticket, users):
    ticket = make_ticket()
    assert ticket.number.startswith("INC-")
    services.take(ticket, users["agent"])
    assert ticket.status == Status.PLANNED_INTERNAL
    assert ticket.responded_at is not None
