"""Two sweeps at the same time (PostgreSQL: SKIP LOCKED) and two deliveries of the same row."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from escalation import delivery
from escalation.models import Escalation, Notification
from sla.models import SlaEvent
from sla.sweep import sweep
from tickets import services

from .conftest import ensure_migration_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
]


@pytest.fixture(autouse=True)
def _needs_postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency test needs PostgreSQL")
    ensure_migration_data()


def in_threads(n, fn):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(fn())
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_concurrent_sweeps_share_the_work_and_duplicate_nothing(users, contracts):
    past = timezone.now() - timedelta(hours=2)
    tickets = [
        services.create_ticket(
            actor=users["globex.user"], title=f"T{i}", description="x", priority=2,
            reported_at=past,
        )
        for i in range(40)
    ]  # fmt: skip
    now = timezone.now() + timedelta(seconds=2)  # past the "due at once" of registration
    results = in_threads(3, lambda: sweep(now=now, batch_size=5).evaluated)
    assert sum(results) == len(tickets)  # each ticket evaluated once, by one of the sweeps
    assert SlaEvent.objects.filter(kind="breached").count() == len(tickets)
    assert Escalation.objects.filter(trigger="response-breached").count() == len(tickets)
    keys = list(Notification.objects.values_list("dedup_key", flat=True))
    assert len(keys) == len(set(keys))
    # And once more, all at once: nothing new.
    before = Notification.objects.count()
    in_threads(3, lambda: sweep(now=now + timedelta(seconds=1)))
    assert Notification.objects.count() == before


def test_concurrent_deliveries_send_once(users, contracts, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    ticket = services.create_ticket(
        actor=users["globex.user"], title="T", description="x", priority=3
    )
    row = Notification.objects.get(ticket=ticket, channel="email")
    mail.outbox = []
    sent = in_threads(4, lambda: delivery.deliver(row.pk))
    assert sorted(sent) == [False, False, False, True]
    assert len(mail.outbox) == 1
