"""A worker killed with SIGKILL in the middle of an e-mail delivery: after a restart the
notification is delivered exactly once (real Redis, Celery worker + beat, SMTP on loopback).

The SMTP server holds the first DATA until the worker is dead; a server that could not send
its 250 reply does not accept the message (RFC 5321 §4.1.1.4), so that attempt delivers
nothing. The claim of the killed worker goes stale, the relay hands the row out again, and the
restarted worker sends it once.
"""

import asyncio
import email
import email.policy
import os
import signal
import time

import pytest

from tickets import services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class SlowFirstInbox:
    """Accepts mail, but keeps the first DATA waiting until `release` is set."""

    def __init__(self):
        self.messages = []
        self.first_started = False
        self.release = False

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        if not self.first_started:
            self.first_started = True
            for _ in range(600):
                if self.release or server.transport is None or server.transport.is_closing():
                    break
                await asyncio.sleep(0.05)
            if server.transport is None or server.transport.is_closing():
                return "421 connection lost"  # the client is gone: nothing accepted
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        for rcpt in envelope.rcpt_tos:
            self.messages.append((rcpt, str(message["Subject"]), str(message["Message-ID"])))
        return "250 OK"


@pytest.fixture
def slow_smtp(smtp):
    controller, inbox = smtp
    slow = SlowFirstInbox()
    controller.handler = slow  # each new SMTP connection gets the controller's handler
    return controller, slow


def _wait(predicate, seconds):
    limit = time.monotonic() + seconds
    while time.monotonic() < limit:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_killed_worker_mid_delivery_delivers_once_after_restart(stack, slow_smtp, users, globex):
    from escalation.models import Notification

    up, _inbox, _tmp = stack
    _controller, inbox = slow_smtp
    up.env.update(
        {
            "NOTIFICATION_STALE_CLAIM_SECONDS": "4",
            "NOTIFICATION_RELAY_SECONDS": "2",
            "NOTIFICATION_RELAY_AFTER_SECONDS": "1",
        }
    )
    worker = up.start(
        "worker", "--beat", "--loglevel=WARNING", "--concurrency=1", "--without-gossip",
        "--without-mingle", "--without-heartbeat", "--schedule", str(_tmp / "beat-a"),
        name="worker-a",
    )  # fmt: skip
    ticket = services.create_ticket(
        actor=users["globex.user"], title="Scanner offline", description="Hub Venlo", priority=3
    )
    receipt = Notification.objects.get(ticket=ticket, channel="email", template="receipt")

    assert _wait(lambda: inbox.first_started, 60), "the worker never started the delivery"
    receipt.refresh_from_db()
    assert receipt.status == "sending"  # claimed, mid-delivery
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)

    up.start(
        "worker", "--beat", "--loglevel=WARNING", "--concurrency=1", "--without-gossip",
        "--without-mingle", "--without-heartbeat", "--schedule", str(_tmp / "beat-b"),
        name="worker-b",
    )  # fmt: skip
    assert _wait(lambda: receipt.__class__.objects.get(pk=receipt.pk).status == "sent", 90)
    time.sleep(6)  # a few more relay periods: nothing goes out twice
    mine = [m for m in inbox.messages if m[0] == "globex.user@example.com"]
    assert len(mine) == 1 and ticket.number in mine[0][1], inbox.messages
    receipt.refresh_from_db()
    assert receipt.status == "sent" and receipt.attempts >= 2
