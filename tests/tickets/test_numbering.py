"""Ticket numbers: per kind and per year (in Europe/Amsterdam), unique under concurrency."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection, connections, transaction
from django_scopes import scopes_disabled

from tickets import services, signals
from tickets.models import Kind, Ticket, TicketSequence


def at(*args):
    return datetime(*args, tzinfo=UTC)


def test_numbers_count_per_kind(users, acme, make_ticket):
    when = at(2026, 3, 2, 10)
    inc1 = make_ticket("acme.user", reported_at=when)
    inc2 = make_ticket("acme.user", reported_at=when)
    chg1 = make_ticket("agent", organization=acme, kind=Kind.CHANGE, priority=5, reported_at=when)
    prb1 = make_ticket("agent", organization=acme, kind=Kind.PROBLEM, reported_at=when)
    qst1 = make_ticket("acme.user", kind=Kind.QUESTION, reported_at=when)
    inc3 = make_ticket("globex.user", reported_at=when)  # one sequence across organisations
    assert [t.number for t in (inc1, inc2, chg1, prb1, qst1, inc3)] == [
        "INC-2026-00001",
        "INC-2026-00002",
        "CHG-2026-00001",
        "PRB-2026-00001",
        "QST-2026-00001",
        "INC-2026-00003",
    ]
    # Stored, not only returned.
    assert Ticket.objects.get(pk=chg1.pk).number == "CHG-2026-00001"


def test_numbers_restart_per_year(make_ticket):
    old = make_ticket("acme.user", reported_at=at(2025, 6, 1, 12))
    new = make_ticket("acme.user", reported_at=at(2026, 6, 1, 12))
    old2 = make_ticket("acme.user", reported_at=at(2025, 6, 2, 12))
    assert (old.number, new.number, old2.number) == (
        "INC-2025-00001",
        "INC-2026-00001",
        "INC-2025-00002",
    )
    assert set(TicketSequence.objects.values_list("kind", "year", "last")) == {
        ("incident", 2025, 2),
        ("incident", 2026, 1),
    }


def test_the_year_is_the_year_in_amsterdam(make_ticket):
    # 2025-12-31 23:30 UTC is already 2026-01-01 00:30 in Amsterdam (CET, UTC+1).
    new_year = make_ticket("acme.user", reported_at=at(2025, 12, 31, 23, 30))
    # 2026-12-31 22:59 UTC is 23:59 in Amsterdam: still 2026.
    last_minute = make_ticket("acme.user", reported_at=at(2026, 12, 31, 22, 59))
    # 2026-12-31 23:00 UTC is 2027-01-01 00:00 in Amsterdam.
    next_year = make_ticket("acme.user", reported_at=at(2026, 12, 31, 23, 0))
    assert new_year.number == "INC-2026-00001"
    assert last_minute.number == "INC-2026-00002"
    assert next_year.number == "INC-2027-00001"


def test_number_is_not_writable_and_unique(make_ticket):
    ticket = make_ticket("acme.user")
    assert not Ticket._meta.get_field("number").editable
    assert Ticket._meta.get_field("number").unique
    assert ticket.number.startswith("INC-")


THREADS = 20


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency test needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_get_distinct_consecutive_numbers(users):
    reporter = users["acme.user"]
    when = at(2026, 5, 4, 9)
    barrier = threading.Barrier(THREADS)
    numbers, errors = [], []
    lock = threading.Lock()

    def work(i):
        try:
            with scopes_disabled():
                barrier.wait(timeout=30)
                ticket = services.create_ticket(
                    actor=reporter,
                    title=f"Concurrent {i}",
                    description="Filed at the same moment.",
                    reported_at=when,
                )
            with lock:
                numbers.append(ticket.number)
        except Exception as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert len(numbers) == THREADS
    assert sorted(numbers) == [f"INC-2026-{n:05d}" for n in range(1, THREADS + 1)]
    assert Ticket.objects.filter(organization=reporter.membership.organization).count() == THREADS
    assert TicketSequence.objects.get(kind="incident", year=2026).last == THREADS


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency test needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_registration_does_not_keep_the_next_one_waiting_for_its_number(users):
    """The counter row is locked for the numbering statement only: while one registration is
    still being written (its transaction open, here in a receiver of `ticket_created`), another
    gets the next number at once. Before, the second waited for the first to commit, so API
    creates went one at a time (~105/s on 2 cores whatever the CPU left)."""
    reporter = users["acme.user"]
    when = at(2026, 5, 4, 9)
    meanwhile = {}

    def file_another(sender, ticket, **kwargs):
        if meanwhile:
            return  # the second registration's own signal
        meanwhile["first"] = ticket.number

        def second():
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '3s'")  # waiting would fail the test
                with scopes_disabled():
                    meanwhile["second"] = services.create_ticket(
                        actor=reporter, title="Second", description="Meanwhile.", reported_at=when
                    ).number
            except Exception as exc:  # noqa: BLE001 - asserted below
                meanwhile["error"] = repr(exc)
            finally:
                connections.close_all()

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=30)

    signals.ticket_created.connect(file_another, sender=Ticket, dispatch_uid="test.meanwhile")
    try:
        with scopes_disabled():
            first = services.create_ticket(
                actor=reporter, title="First", description="Slow to write.", reported_at=when
            )
    finally:
        signals.ticket_created.disconnect(sender=Ticket, dispatch_uid="test.meanwhile")
    assert "error" not in meanwhile, meanwhile["error"]
    assert (first.number, meanwhile["second"]) == ("INC-2026-00001", "INC-2026-00002")
    assert Ticket.objects.count() == 2


def test_inside_a_caller_s_transaction_a_failed_registration_leaves_no_gap(users, make_ticket):
    """A caller's transaction (the portal's form, e-mail intake) includes the numbering: when it
    rolls back, the number is handed out again."""
    when = at(2026, 5, 4, 9)
    with pytest.raises(RuntimeError), transaction.atomic():
        make_ticket("acme.user", reported_at=when)
        raise RuntimeError
    assert make_ticket("acme.user", reported_at=when).number == "INC-2026-00001"
