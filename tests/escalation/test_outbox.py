"""The notification outbox: dedup, delivery exactly once, language, broker outage, relay."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from freezegun import freeze_time

from escalation import delivery, matrix, outbox, receivers
from escalation.models import Escalation, Notification
from pim.celery import app
from tests.broker import broker_down
from tickets.models import Ticket

from .conftest import at

pytestmark = pytest.mark.django_db


def email_rows(ticket, trigger=None):
    qs = Notification.objects.filter(ticket=ticket, channel="email")
    return qs.filter(trigger=trigger) if trigger else qs


def test_delivery_sends_once_and_marks_sent(file_ticket):
    ticket = file_ticket(priority=3)
    (row,) = email_rows(ticket, "receipt")
    assert row.status == "pending"
    assert delivery.deliver(row.pk) is True
    assert delivery.deliver(row.pk) is False  # a redelivered task sends nothing
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.status == "sent" and row.sent_at and row.attempts == 1
    message = mail.outbox[0]
    assert ticket.number in message.subject
    assert message.to == ["globex.user@example.com"]
    html = {ct: body for body, ct in message.alternatives}["text/html"]
    assert ticket.number in html and "<html" in html


def test_email_in_the_recipients_language(file_ticket, users):
    user = users["globex.user"]
    user.language = "nl"
    user.save()
    ticket = file_ticket(priority=3)
    (row,) = email_rows(ticket, "receipt")
    delivery.deliver(row.pk)
    assert mail.outbox[0].subject == f"We hebben uw melding {ticket.number} ontvangen"


def test_escalation_email_has_a_signed_acknowledge_link(file_ticket, users, client):
    ticket = file_ticket(priority=1)
    row = email_rows(ticket, "p1-registered").get(recipient=users["oncall"])
    delivery.deliver(row.pk)
    body = mail.outbox[0].body
    link = next(line.split(": ", 1)[1] for line in body.splitlines() if "/escalations/ack/" in line)
    path = link.removeprefix("http://127.0.0.1:8000")
    assert client.get(path).status_code == 200  # no login needed: the link is the proof
    assert client.post(path).status_code == 200
    esc = Escalation.objects.get(ticket=ticket)
    assert esc.acknowledged_by == users["oncall"]
    assert client.get(path[:-5] + "xxxx/").status_code == 404  # tampered


def test_dedup_key_one_row_per_ticket_trigger_level_recipient_channel(file_ticket, users):
    ticket = file_ticket(priority=1)
    before = Notification.objects.count()
    receivers.ticket_registered(Ticket, ticket=ticket)  # as if registration ran twice
    esc = Escalation.objects.get(ticket=ticket)
    matrix.notify_tier(esc, 0)
    assert Notification.objects.count() == before


def test_failed_delivery_goes_back_to_pending_with_backoff_then_the_relay_sends_it(
    file_ticket, monkeypatch, settings
):
    settings.NOTIFICATION_RELAY_AFTER_SECONDS = 60
    ticket = file_ticket(priority=3, when=at(2026, 11, 25, 10, 0))
    (row,) = email_rows(ticket, "receipt")

    def broken(self, *args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
    assert delivery.deliver(row.pk, now=at(2026, 11, 25, 10, 0, 5)) is False
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 1 and "smtp down" in row.last_error
    assert row.next_attempt_at == at(2026, 11, 25, 10, 0, 35)
    assert outbox.unsent(now=at(2026, 11, 25, 10, 0, 30)) == []
    monkeypatch.undo()
    sent = []
    monkeypatch.setattr(outbox, "enqueue", lambda pk, force: sent.append(delivery.deliver(pk)))
    with freeze_time(at(2026, 11, 25, 10, 2)):
        assert outbox.relay() == [row.pk]
    assert sent == [True]
    assert len(mail.outbox) == 1


def test_a_claim_of_a_killed_worker_goes_stale_and_is_delivered_once(file_ticket):
    ticket = file_ticket(priority=3, when=at(2026, 11, 25, 10, 0))
    (row,) = email_rows(ticket, "receipt")
    # The worker claimed the row and died before sending (SIGKILL): status stays "sending".
    assert delivery.claim(row.pk, at(2026, 11, 25, 10, 0, 1)) == 1
    assert delivery.deliver(row.pk, now=at(2026, 11, 25, 10, 1)) is False  # redelivered early
    assert outbox.unsent(now=at(2026, 11, 25, 10, 3)) == []
    assert outbox.unsent(now=at(2026, 11, 25, 10, 6)) == [row.pk]
    assert delivery.deliver(row.pk, now=at(2026, 11, 25, 10, 6)) is True
    assert delivery.deliver(row.pk, now=at(2026, 11, 25, 10, 20)) is False
    assert len(mail.outbox) == 1


def test_gives_up_after_max_attempts(file_ticket, monkeypatch, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    ticket = file_ticket(priority=3)
    (row,) = email_rows(ticket, "receipt")
    monkeypatch.setattr(
        "django.core.mail.EmailMessage.send", lambda *a, **k: (_ for _ in ()).throw(OSError())
    )
    delivery.deliver(row.pk)
    delivery.deliver(row.pk)
    row.refresh_from_db()
    assert row.status == "failed"


def test_delivery_is_enqueued_after_commit(file_ticket, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        file_ticket(priority=3)
    assert len(callbacks) == 1  # one e-mail row; the in-app row needs no delivery


def test_broker_down_while_a_ticket_is_created(
    users, contracts, monkeypatch, django_capture_on_commit_callbacks
):
    """The ticket is saved and its receipt row written; the relay delivers once Redis is back."""
    from tickets import services

    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        ticket = services.create_ticket(
            actor=users["globex.user"], title="Down", description="All lines", priority=1
        )
    assert outbox._broker_down_until > 0  # the broker refused: the breaker is open
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    rows = list(email_rows(ticket))
    assert rows and all(r.status == "pending" for r in rows)
    assert mail.outbox == []
    # The broker is back: the relay hands the rows out (eager here), each is sent once.
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    later = timezone.now() + timedelta(minutes=2)
    with freeze_time(later):
        outbox.relay()
        outbox.relay()
    assert len(mail.outbox) == len(rows)
    assert not email_rows(ticket).exclude(status="sent").exists()
