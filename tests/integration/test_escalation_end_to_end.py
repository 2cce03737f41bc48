"""End to end with real parts: Redis, a Celery worker, one or two beat processes (subprocesses)
against the PostgreSQL test database, and an SMTP server (aiosmtpd) on loopback.

A 24/7 organisation whose contract gives P2 a 1-minute response target: the response-breached
escalation e-mail reaches the level's owners within 3 minutes, exactly once each — also with two
beat processes running the sweep at the same time. The beat period is shortened through
SLA_SWEEP_SECONDS; the ticket is registered by phone 40 seconds after the call, so the breach
comes 20 seconds into the test.
"""

import datetime as dt
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from sla.models import Contract, ContractOverride, ServiceWindow, SlaPolicy
from tests.escalation.conftest import ensure_migration_data
from tickets import services

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

BASE_DIR = Path(settings.BASE_DIR)
CELERY = str(BASE_DIR / ".venv" / "bin" / "celery")
REDIS_URL = os.environ.get("INTEGRATION_REDIS_URL", "redis://127.0.0.1:6379/10")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DEADLINE = timedelta(minutes=3)


def _redis_up():
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
        return client
    except Exception:  # noqa: BLE001
        return None


@pytest.fixture
def redis_db(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL + Redis")
    client = _redis_up()
    if client is None:
        if IN_CI:
            pytest.fail(f"Redis is required in CI ({REDIS_URL})")
        pytest.skip("needs PostgreSQL + Redis")
    ensure_migration_data()
    client.flushdb()  # this test's own database number only
    yield client
    client.flushdb()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        for rcpt in envelope.rcpt_tos:
            self.messages.append((rcpt, str(message["Subject"]), str(message["Message-ID"])))
        return "250 OK"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def stack(redis_db, smtp, tmp_path):
    """Start a worker and N beat processes; stop them (and only them) afterwards."""
    controller, inbox = smtp
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "CELERY_BROKER_URL": REDIS_URL,
        "EMAIL_URL": f"smtp://{controller.hostname}:{controller.port}",
        "SLA_SWEEP_SECONDS": "3",
        "NOTIFICATION_RELAY_SECONDS": "5",
        "NOTIFICATION_RELAY_AFTER_SECONDS": "10",
        "PIM_VAR_DIR": str(tmp_path / "var"),
        "CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CACHE_URL", None)
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace(
            f"{db['USER']}@", f"{db['USER']}:{db['PASSWORD']}@"
        )
    procs = []

    def start(*args, name):
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(  # noqa: S603
            [CELERY, "-A", "pim", *args],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append((proc, log, name))
        return proc

    def up(beats):
        start(
            "worker", "--loglevel=WARNING", "--concurrency=2", "--without-gossip",
            "--without-mingle", "--without-heartbeat", name="worker",
        )  # fmt: skip
        for i in range(beats):
            start(
                "beat", "--loglevel=WARNING", "--schedule", str(tmp_path / f"beat{i}"),
                name=f"beat{i}",
            )  # fmt: skip

    up.start = start  # a test may start (or restart) single processes
    up.env = env
    yield up, inbox, tmp_path
    for proc, _log, _name in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc, log, name in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()
        sys.stdout.write(f"--- {name} log ---\n{(tmp_path / f'{name}.log').read_text()[-3000:]}\n")


@pytest.fixture
def globex_p2_one_minute(globex, users):
    policy = SlaPolicy.objects.get(name="Standaard SLA")
    contract = Contract.objects.create(
        organization=globex,
        policy=policy,
        service_window=ServiceWindow.ALWAYS,
        valid_from=dt.date(2020, 1, 1),
    )
    ContractOverride.objects.create(
        contract=contract, kind="incident", priority=2, target="response", amount=1
    )
    return contract


@pytest.mark.parametrize("beats", [1, 2])
def test_response_breach_escalation_mail_exactly_once(stack, users, globex_p2_one_minute, beats):
    up, inbox, _tmp = stack
    up(beats)
    called_at = timezone.now() - timedelta(seconds=40)
    ticket = services.create_ticket(
        actor=users["agent"],
        organization=users["globex.user"].membership.organization,
        reporter=users["globex.user"],
        channel="phone",
        title="Telephony down",
        description="Nobody can call in or out.",
        priority=2,
        reported_at=called_at,
    )
    due = called_at + timedelta(minutes=1)
    owners = {"agent@example.com", "oncall@example.com"}  # Low: Service & Support

    def breach_mails():
        return [m for m in inbox.messages if "Escalation" in m[1] and m[0] in owners]

    # Registration: the receipt right away; after the 1-minute response target, the
    # response-breached escalation (Low). (A P1 would be escalated to Low at registration
    # already, and a ticket has one open escalation per level: its breach raises no second.)
    limit = called_at + DEADLINE
    while timezone.now() < limit and len(breach_mails()) < len(owners):
        time.sleep(0.5)
    arrived = timezone.now()
    assert len(breach_mails()) >= len(owners), inbox.messages
    assert arrived <= limit
    assert arrived >= due  # the breach mail cannot come before the deadline
    # A few more sweep and relay periods: nothing is sent twice.
    time.sleep(8)
    per_message = Counter(inbox.messages)
    assert all(n == 1 for n in per_message.values()), per_message
    per_recipient_subject = Counter((rcpt, subject) for rcpt, subject, _id in inbox.messages)
    assert all(n == 1 for n in per_recipient_subject.values()), per_recipient_subject
    receipts = [m for m in inbox.messages if m[0] == "globex.user@example.com"]
    assert len(receipts) == 1 and ticket.number in receipts[0][1]
    from escalation.models import Escalation, Notification

    assert set(Escalation.objects.filter(ticket=ticket).values_list("trigger", flat=True)) == {
        "response-breached",
    }
    assert not Notification.objects.filter(channel="email").exclude(status="sent").exists()
