"""Escalations are about what can still be saved (issue 12 item 3): a sweep running late over
history escalates nothing for resolved or closed tickets, nor for clocks that were breached
before the ticket's last resolution; one open escalation per ticket and level; resolving or
closing a ticket closes its open escalations and tells their recipients once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from freezegun import freeze_time

from escalation import delivery
from escalation.models import Escalation, Notification
from sla.models import SlaEvent
from sla.sweep import sweep
from tickets import services
from tickets.models import AuditEntry

from .conftest import at

pytestmark = pytest.mark.django_db

RESOLUTION = {"resolution_type": "definitive", "resolution_cause": "Card", "resolution_how": "Swap"}


def act(when, fn, *args, **kwargs):
    with freeze_time(when):
        result = fn(*args, **kwargs)
    for arg in args:
        if hasattr(arg, "refresh_from_db"):
            arg.refresh_from_db()
    return result


def run_sweep(when):
    with freeze_time(when):
        return sweep()


def test_a_sweep_a_month_late_escalates_nothing_of_the_past(file_ticket, users):
    agent, customer = users["agent"], users["globex.user"]
    # 24/7 P2: response 1 h, restore 6 h, resolution 16 h from the response at 10:10.
    closed = file_ticket(priority=2, when=at(2026, 10, 5, 10, 0))
    act(at(2026, 10, 5, 10, 10), services.take, closed, agent)
    act(at(2026, 10, 5, 20, 0), services.transition, closed, agent, "resolved",
        resolution=RESOLUTION)  # fmt: skip  # restore breached at 16:10
    act(at(2026, 10, 6, 9, 0), services.confirm_resolution, closed, customer)

    resolved = file_ticket(priority=2, when=at(2026, 10, 5, 10, 0))
    act(at(2026, 10, 5, 10, 10), services.take, resolved, agent)
    act(at(2026, 10, 6, 9, 0), services.transition, resolved, agent, "resolved",
        resolution=RESOLUTION)  # fmt: skip  # restore and resolution breached

    reopened = file_ticket(priority=2, when=at(2026, 10, 5, 10, 0))
    act(at(2026, 10, 5, 10, 10), services.take, reopened, agent)
    act(at(2026, 10, 5, 17, 0), services.transition, reopened, agent, "resolved",
        resolution=RESOLUTION)  # fmt: skip  # restore breached at 16:10, before the resolution
    act(at(2026, 10, 5, 17, 30), services.transition, reopened, customer, "response_received")

    run_sweep(at(2026, 11, 5, 10, 0))  # the beat was down for a month

    # History is recorded as SLA events ...
    assert SlaEvent.objects.filter(ticket=closed, target="restore", kind="breached").exists()
    assert SlaEvent.objects.filter(ticket=resolved, target="resolution", kind="breached").exists()
    assert SlaEvent.objects.filter(ticket=reopened, target="restore", kind="breached").exists()
    # ... and raises nothing, except the reopened ticket's resolution clock, which ran on after
    # the reopening and breached while the ticket is open: that can still be saved.
    assert not Escalation.objects.filter(ticket__in=[closed, resolved]).exists()
    assert list(Escalation.objects.filter(ticket=reopened).values_list("trigger", "level")) == [
        ("resolution-breached", "very_high")
    ]
    escalation_mail = Notification.objects.filter(template="escalation")
    assert set(escalation_mail.values_list("ticket_id", flat=True)) == {reopened.pk}


def test_one_open_escalation_per_ticket_and_level(file_ticket):
    ticket = file_ticket(priority=1, when=at(2026, 11, 25, 10, 0))  # P1 at registration: Low
    run_sweep(at(2026, 11, 25, 10, 31))  # response breached: Low again
    assert SlaEvent.objects.filter(ticket=ticket, target="response", kind="breached").exists()
    assert list(Escalation.objects.filter(ticket=ticket).values_list("level", flat=True)) == ["low"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Escalation.objects.create(
            ticket=ticket, level="low", trigger="manual", raised_at=at(2026, 11, 25, 11, 0)
        )
    # A closed one does not count: the constraint is on open escalations only.
    Escalation.objects.filter(ticket=ticket).update(closed_at=at(2026, 11, 25, 11, 0))
    Escalation.objects.create(
        ticket=ticket, level="low", trigger="manual", raised_at=at(2026, 11, 25, 11, 0)
    )


def test_resolving_closes_open_escalations_and_tells_their_recipients_once(
    file_ticket, users, client
):
    ticket = file_ticket(priority=1, when=at(2026, 11, 25, 10, 0))
    raised = Escalation.objects.get(ticket=ticket)
    act(at(2026, 11, 25, 10, 5), services.take, ticket, users["agent"])
    act(at(2026, 11, 25, 11, 0), services.transition, ticket, users["agent"], "resolved",
        resolution=RESOLUTION)  # fmt: skip
    raised.refresh_from_db()
    assert raised.closed_at == at(2026, 11, 25, 11, 0) and raised.next_deputy_at is None
    audit = AuditEntry.objects.get(ticket=ticket, action="escalation_closed")
    assert audit.object_id == raised.pk and audit.changes["status"] == "resolved"
    told = Notification.objects.filter(ticket=ticket, template="escalation_closed")
    assert sorted(told.values_list("recipient__username", "channel")) == [
        ("agent", "email"), ("agent", "in_app"), ("oncall", "email"), ("oncall", "in_app"),
    ]  # fmt: skip

    # The ticket page says so (not "not yet acknowledged").
    client.force_login(users["agent"])
    page = client.get(reverse("ticket-detail", args=[ticket.number])).text
    assert "Closed at 25-11-2026 11:00: the ticket was resolved or closed" in page
    assert "Not yet acknowledged" not in page

    # Closing later (the customer confirms), and a sweep afterwards, tell nobody again.
    act(at(2026, 11, 25, 12, 0), services.confirm_resolution, ticket, users["globex.user"])
    run_sweep(at(2026, 12, 25, 12, 0))
    assert told.count() == 4
    assert not Escalation.objects.filter(ticket=ticket, closed_at__isnull=True).exists()

    # The notice reads in words; the escalation e-mail that had not gone out yet is not sent.
    mail.outbox.clear()
    delivery.deliver(told.get(recipient=users["oncall"], channel="email").pk)
    assert mail.outbox[0].subject == f"Escalation closed: {ticket.number} Lines down"
    assert "is resolved" in mail.outbox[0].body and "level Low" in mail.outbox[0].body
    pending = Notification.objects.get(
        ticket=ticket, template="escalation", recipient=users["oncall"], channel="email"
    )
    assert delivery.deliver(pending.pk) is False
    pending.refresh_from_db()
    assert pending.status == "skipped" and len(mail.outbox) == 1


def test_the_list_shows_one_row_per_ticket_with_its_highest_level_in_words(
    file_ticket, users, client, django_assert_max_num_queries
):
    opsmanager = users["opsmanager"]
    opsmanager.first_name, opsmanager.last_name = "Hans", "Meijer"
    opsmanager.save()
    tickets = [file_ticket(priority=2, when=at(2026, 11, 25, 10, 0)) for _ in range(3)]
    for ticket in tickets:
        act(at(2026, 11, 25, 10, 10), services.take, ticket, users["agent"])
    run_sweep(at(2026, 11, 25, 16, 11))  # restore at risk (Middle) and breached (High)
    assert Escalation.objects.filter(closed_at__isnull=True).count() == 6
    client.force_login(users["director"])
    with django_assert_max_num_queries(20):
        page = client.get(reverse("escalation-list")).text
    for ticket in tickets:
        assert page.count(f">{ticket.number}</a>") == 1
    assert page.count(">High</td>") == 3 and ">Middle</td>" not in page
    assert "Restore breached" in page and "restore-breached" not in page
    assert "Owner: Hans Meijer" in page


def test_the_list_speaks_dutch(file_ticket, users, client):
    director = users["director"]
    director.language = "nl"
    director.save()
    ticket = file_ticket(priority=2, when=at(2026, 11, 25, 10, 0))
    act(at(2026, 11, 25, 10, 10), services.take, ticket, users["agent"])
    run_sweep(at(2026, 11, 25, 10, 10) + timedelta(hours=6, minutes=1))
    client.force_login(director)
    page = client.get(reverse("escalation-list"), HTTP_ACCEPT_LANGUAGE="nl").text
    assert "Herstel overschreden" in page and "Eigenaar" in page
