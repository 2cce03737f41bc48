from pathlib import Path

import pytest
from django.utils import translation

MESSAGES = Path(__file__).parent / "messages"


def message_bytes(name):
    return (MESSAGES / name).read_bytes()


@pytest.fixture(autouse=True)
def _english():
    """The assertions read English reasons (the default language is Dutch)."""
    with translation.override("en"):
        yield


@pytest.fixture
def eml():
    return message_bytes


@pytest.fixture
def ticket_42(make_ticket):
    """acme.user's ticket, renumbered to the number the reply fixtures quote."""
    from tickets.models import Ticket

    ticket = make_ticket("acme.user", title="Phone system down")
    Ticket.objects.filter(pk=ticket.pk).update(number="INC-2026-00042")
    ticket.refresh_from_db()
    return ticket
