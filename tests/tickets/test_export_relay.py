"""The export relay (tickets/export_jobs.py): a background export whose message the broker lost,
or whose worker died, is sent again after its grace, a bounded number of times, and then fails
with a reason its owner reads; a run the relay restarted keeps nothing; two relays at once send
each export once (PostgreSQL); a broker that is down when the export starts costs no 500."""

import csv
import io
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.storage import default_storage
from django.db import connection, connections
from freezegun import freeze_time

from pim.celery import app
from tests.broker import broker_down
from tests.escalation.conftest import ensure_migration_data
from tickets import export_jobs, services, tasks
from tickets.models import Export, ExportStatus

AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=AMS)
QUEUE_EXPORT = "/queue/export/?status=all&sort=reported_at&dir=asc&format=csv"
NOTHING = {"sent": [], "failed": []}


@pytest.fixture(autouse=True)
def _breaker_closed(monkeypatch):
    monkeypatch.setattr(export_jobs, "_broker_down_until", 0.0)


@pytest.fixture
def five(settings, contracts, users):
    """Five tickets (a large export at a threshold of three), and the relay's timings."""
    settings.EXPORT_DIRECT_MAX_ROWS = 3
    settings.EXPORT_CHUNK_ROWS = 2
    settings.EXPORT_RELAY_AFTER_SECONDS = 120
    settings.EXPORT_STALLED_SECONDS = 600
    settings.EXPORT_MAX_ATTEMPTS = 3
    with freeze_time(T0 - timedelta(hours=1)):
        made = [
            services.create_ticket(
                actor=users["globex.user"], title=f"Row {i}", description="d", priority=3
            )
            for i in range(5)
        ]
    return [t.number for t in made]


@pytest.fixture
def lost_export(client, users, five, django_capture_on_commit_callbacks):
    """The agent starts the large queue export at T0; its message never reaches a worker (the
    callback that would enqueue it is dropped, as when the broker loses it)."""
    client.force_login(users["agent"])
    with freeze_time(T0), django_capture_on_commit_callbacks(execute=False) as dropped:
        response = client.get(QUEUE_EXPORT)
    assert len(dropped) == 1
    export = Export.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exports/{export.pk}/"
    assert (export.status, export.attempts) == (ExportStatus.PENDING, 1)
    return export


@pytest.fixture
def relay(django_capture_on_commit_callbacks):
    """The relay at a moment; `deliver=False`: the messages it sends get lost too."""

    def _relay(moment, deliver=True):
        with freeze_time(moment), django_capture_on_commit_callbacks(execute=deliver):
            return export_jobs.relay()

    return _relay


def numbers_in(client, export):
    with freeze_time(T0 + timedelta(hours=1)):  # within its seven days
        response = client.get(f"/exports/{export.pk}/download/")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return [r[0] for r in csv.reader(io.StringIO(text, newline=""), delimiter=";")][1:]


def stored_exports():
    try:
        return set(default_storage.listdir("exports")[1])
    except FileNotFoundError:
        return set()


def test_a_lost_message_is_sent_again_after_the_grace_and_not_before(
    client, lost_export, five, relay, eager_tasks
):
    export = lost_export
    assert relay(T0 + timedelta(seconds=119)) == NOTHING
    export.refresh_from_db()
    assert (export.status, export.attempts) == (ExportStatus.PENDING, 1)

    assert relay(T0 + timedelta(seconds=120)) == {"sent": [export.pk], "failed": []}
    export.refresh_from_db()  # the worker (eager) wrote it
    assert (export.status, export.attempts, export.rows_done) == (ExportStatus.DONE, 2, 5)
    assert (export.claim, export.relay_at) == ("", None)
    assert numbers_in(client, export) == five
    assert relay(T0 + timedelta(hours=1)) == NOTHING  # done: nothing more to send


def test_a_waiting_export_is_not_sent_again_while_its_message_is_queued(lost_export, relay):
    """The wait doubles with each attempt: a long queue is not taken for a lost message."""
    export = lost_export
    assert relay(T0 + timedelta(minutes=2), deliver=False)["sent"] == [export.pk]  # attempt 2
    assert relay(T0 + timedelta(minutes=5), deliver=False) == NOTHING  # waits 4 minutes now
    assert relay(T0 + timedelta(minutes=6), deliver=False)["sent"] == [export.pk]  # attempt 3
    export.refresh_from_db()
    assert (export.status, export.attempts) == (ExportStatus.PENDING, 3)
    assert export.relay_at == T0 + timedelta(minutes=14)


def test_beat_runs_the_relay_every_minute(settings, lost_export):
    entry = settings.CELERY_BEAT_SCHEDULE["tickets-export-relay"]
    assert entry["task"] == tasks.relay_exports.name == "tickets.tasks.relay_exports"
    assert entry["schedule"] == 60.0
    with freeze_time(T0 + timedelta(minutes=1)):
        assert tasks.relay_exports.apply().get() == {"sent": 0, "failed": 0}
    with freeze_time(T0 + timedelta(minutes=2)):
        assert tasks.relay_exports.apply().get() == {"sent": 1, "failed": 0}


class WorkerKilled(BaseException):
    """The worker process dies (OOM, SIGKILL): nothing after this line of it runs, no except
    Exception, no marking failed."""


def test_a_running_export_whose_worker_died_is_restarted(
    client, lost_export, five, relay, eager_tasks
):
    export = lost_export
    updates = []

    def die_after_the_first_chunk(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith('UPDATE "tickets_export"'):
            updates.append(sql)
            if len(updates) == 3:  # claimed, counted, first chunk written: the worker dies
                raise WorkerKilled
        return result

    with (
        freeze_time(T0 + timedelta(minutes=1)),
        connection.execute_wrapper(die_after_the_first_chunk),
        pytest.raises(WorkerKilled),
    ):
        tasks.write_export(export.pk)
    export.refresh_from_db()
    assert (export.status, export.rows_done, export.rows_total) == (ExportStatus.RUNNING, 2, 5)

    # its progress stood still: restarted after EXPORT_STALLED_SECONDS, not before
    assert relay(T0 + timedelta(minutes=1, seconds=599)) == NOTHING
    assert relay(T0 + timedelta(minutes=11)) == {"sent": [export.pk], "failed": []}
    export.refresh_from_db()
    assert (export.status, export.attempts, export.rows_done) == (ExportStatus.DONE, 2, 5)
    assert numbers_in(client, export) == five


@pytest.mark.parametrize("restarted", ["at a chunk", "while storing the file"])
def test_a_run_the_relay_restarted_keeps_nothing(
    client, lost_export, five, relay, eager_tasks, restarted
):
    """A worker that was only slow: the relay took its silence for death and restarted the
    export. The new run writes it; the old one stops (at its next chunk) or, if it was storing
    its file already, deletes that file: one file per export, the new run's."""
    export = lost_export
    before = stored_exports()
    old_files = []

    updates = []

    def restart_meanwhile(execute, sql, params, many, context):
        if not old_files and sql.startswith('UPDATE "tickets_export"'):
            updates.append(sql)
            chunk = len(updates) == 3  # claimed, counted, then the first chunk
            if chunk if restarted == "at a chunk" else ExportStatus.DONE in params:
                old_files.append(next((p for p in params if str(p).startswith("exports/")), ""))
                assert relay(T0 + timedelta(minutes=30))["sent"] == [export.pk]  # runs at once
        return execute(sql, params, many, context)

    with freeze_time(T0 + timedelta(minutes=1)), connection.execute_wrapper(restart_meanwhile):
        assert export_jobs.run(export.pk) is None  # the old run wrote nothing that counts
    assert old_files
    export.refresh_from_db()
    assert (export.status, export.attempts, export.rows_done) == (ExportStatus.DONE, 2, 5)
    assert stored_exports() - before == {export.file.name.removeprefix("exports/")}
    if old_files[0]:
        assert not default_storage.exists(old_files[0])
    assert numbers_in(client, export) == five


def test_attempts_are_bounded_and_the_owner_reads_why(client, lost_export, relay, settings):
    export = lost_export
    assert relay(T0 + timedelta(minutes=2), deliver=False)["sent"] == [export.pk]
    assert relay(T0 + timedelta(minutes=6), deliver=False)["sent"] == [export.pk]
    assert relay(T0 + timedelta(minutes=14) - timedelta(seconds=1), deliver=False) == NOTHING
    assert relay(T0 + timedelta(minutes=14)) == {"sent": [], "failed": [export.pk]}
    export.refresh_from_db()
    assert (export.status, export.attempts) == (ExportStatus.FAILED, 3)
    reason = "The file could not be made in 3 attempts. Start the export again from the list."
    assert export.error == reason
    assert (export.claim, export.relay_at) == ("", None)
    with freeze_time(T0 + timedelta(minutes=15)):
        detail = client.get(f"/exports/{export.pk}/").content.decode()
        listed = client.get("/exports/").content.decode()
    assert f"The export failed: {reason}" in detail and "hx-trigger" not in detail
    assert f"Failed: {reason}" in listed
    assert relay(T0 + timedelta(hours=2)) == NOTHING  # failed stays failed


def test_a_stalled_export_out_of_attempts_fails_in_its_owners_language(client, users, relay):
    """A Dutch owner's export, running on its last attempt when its worker died."""
    owner = users["acme.contact"]
    owner.language = "nl"
    owner.save()
    export = Export.objects.create(
        owner=owner, list="tickets", query="state=all", format="xlsx", language="nl",
        status=ExportStatus.RUNNING, attempts=5, claim="dead", rows_done=1000,
        rows_total=9000, created_at=T0, expires_at=T0 + timedelta(days=7),
        relay_at=T0 + timedelta(minutes=10),
    )  # fmt: skip
    assert relay(T0 + timedelta(minutes=10)) == {"sent": [], "failed": [export.pk]}
    export.refresh_from_db()
    reason = "Na 5 pogingen is het bestand niet gemaakt. Start de export opnieuw vanuit de lijst."
    assert (export.status, export.error) == (ExportStatus.FAILED, reason)
    client.force_login(owner)
    with freeze_time(T0 + timedelta(minutes=11)):
        detail = client.get(f"/exports/{export.pk}/").content.decode()
        listed = client.get("/exports/").content.decode()
    assert f"De export is mislukt: {reason}" in detail
    assert reason in listed


def test_a_restarted_export_says_so_while_it_waits(client, lost_export, relay):
    export = lost_export
    with freeze_time(T0):
        page = client.get(f"/exports/{export.pk}/").content.decode()
    assert "Attempt" not in page
    relay(T0 + timedelta(minutes=2), deliver=False)
    with freeze_time(T0 + timedelta(minutes=2)):
        page = client.get(f"/exports/{export.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "Attempt 2: the earlier one did not finish" in page
    assert 'hx-trigger="every 2s"' in page


def test_an_expired_export_is_left_to_the_cleanup(users, relay, settings):
    export = Export.objects.create(
        owner=users["agent"], list="queue", format="csv", language="en", attempts=1,
        created_at=T0, expires_at=T0 + timedelta(days=7), relay_at=T0 + timedelta(minutes=2),
    )  # fmt: skip
    assert relay(T0 + timedelta(days=7)) == NOTHING
    export.refresh_from_db()
    assert (export.status, export.attempts) == (ExportStatus.PENDING, 1)


# --- the broker ---------------------------------------------------------------------------------


def drain_export_messages():
    """Take every message waiting in the broker's default queue; the export ids of those that
    write an export (the real broker of this run: in memory, or Redis)."""
    ids = []
    with app.connection_for_write() as conn:
        queue = conn.SimpleQueue(app.conf.task_default_queue, no_ack=True)
        try:
            while True:
                try:
                    message = queue.get_nowait()
                except queue.Empty:
                    return ids
                if message.headers.get("task") == "tickets.tasks.write_export":
                    ids.append(message.payload[0][0])
        finally:
            queue.close()


@pytest.fixture
def migration_data(transactional_db):
    ensure_migration_data()


@pytest.mark.django_db(transaction=True)
def test_the_broker_down_when_an_export_starts_costs_no_500(
    migration_data, client, contracts, users, settings, monkeypatch
):
    """Committed in the request as in production (no test transaction around it, so the
    message is sent before the page answers): the page answers, the export waits, and the
    relay sends it once the broker is back."""
    settings.EXPORT_DIRECT_MAX_ROWS = 1
    for i in range(2):
        services.create_ticket(actor=users["globex.user"], title=f"R{i}", description="d")
    client.force_login(users["agent"])
    client.raise_request_exception = False
    with freeze_time(T0), broker_down():
        first = client.get(QUEUE_EXPORT)
        second = client.get(QUEUE_EXPORT)  # the breaker is open: no wait for the broker
    assert (first.status_code, second.status_code) == (302, 302)
    exports = list(Export.objects.order_by("pk"))
    assert [first["Location"], second["Location"]] == [f"/exports/{e.pk}/" for e in exports]
    assert {(e.status, e.attempts) for e in exports} == {(ExportStatus.PENDING, 1)}
    with freeze_time(T0):
        assert client.get(first["Location"]).status_code == 200

    # the broker is back (eager: the worker runs here)
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    with freeze_time(T0 + timedelta(minutes=1)):
        assert export_jobs.relay() == NOTHING  # not before the grace
    with freeze_time(T0 + timedelta(minutes=2)):
        assert sorted(export_jobs.relay()["sent"]) == [e.pk for e in exports]
    assert set(Export.objects.values_list("status", "rows_done")) == {(ExportStatus.DONE, 2)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_send_each_export_once(users, settings):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED needs PostgreSQL")
    settings.EXPORT_MAX_ATTEMPTS = 5
    owner = users["agent"]
    exports = [
        Export.objects.create(
            owner=owner, list="queue", format="csv", language="en", attempts=1, created_at=T0,
            expires_at=T0 + timedelta(days=7), relay_at=T0 + timedelta(minutes=2),
            status=ExportStatus.RUNNING if i % 2 else ExportStatus.PENDING,
        )
        for i in range(12)
    ]  # fmt: skip
    drain_export_messages()
    barrier = threading.Barrier(3)
    results, errors = [], []

    def one_relay():
        try:
            barrier.wait()
            results.append(export_jobs.relay(now=T0 + timedelta(minutes=3), limit=5)["sent"])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one_relay) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    sent = [pk for batch in results for pk in batch]
    assert sorted(sent) == sorted(set(sent))  # no export taken by two relays
    assert sorted(drain_export_messages()) == sorted(sent)  # one message per export sent
    assert set(Export.objects.filter(pk__in=sent).values_list("status", "attempts")) == {
        (ExportStatus.PENDING, 2)
    }
    # whatever the three left (each takes five at most) the next one takes; none twice
    later = export_jobs.relay(now=T0 + timedelta(minutes=3))["sent"]
    assert sorted(sent + later) == [e.pk for e in exports]
    assert sorted(drain_export_messages()) == sorted(later)


@pytest.mark.postgres
def test_the_relay_reads_through_its_index(users):
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    query = Export.objects.filter(
        status__in=export_jobs.ACTIVE, relay_at__lte=T0, expires_at__gt=T0
    ).order_by("relay_at")[:100]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ticket_export_relay" in plan
