"""Settings (DESIGN §6): health check, SQLite WAL + IMMEDIATE, request size limit.

`check --deploy` is tested on a real release in tests/test_production.py.
"""

import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError, connection, connections
from django.test import Client

BASE_DIR = Path(settings.BASE_DIR)


@pytest.mark.django_db
def test_healthz_reports_database_and_broker():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["status"] == "ok"
    assert data["database"] == {"ok": True, "vendor": connection.vendor}
    assert data["broker"]["ok"] is True
    assert data["broker"]["transport"]
    assert "beat" in data
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(settings, monkeypatch):
    from pim.celery import app

    down = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_BROKER_URL = down
    # Celery read its settings at start-up, and prefers the environment variable over them.
    monkeypatch.setenv("CELERY_BROKER_URL", down)
    monkeypatch.setattr(app.conf, "broker_url", down)
    response = Client().get("/healthz")
    assert response.status_code == 503
    data = response.json()
    assert data["status"] == "error"
    assert data["broker"]["ok"] is False
    assert data["broker"]["error"]  # the exception's class name, no connection details
    assert "127.0.0.1" not in response.content.decode()
    assert data["database"]["ok"] is True


sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite settings; this run uses another database"
)


def _probe_connection(tmp_path, alias, options=None):
    """A new connection with the project's SQLite settings, on a file database (the test
    database is in memory, where WAL does not exist)."""
    config = connections.settings["default"]
    config = {
        **config,
        "NAME": str(tmp_path / "probe.sqlite3"),
        "OPTIONS": {**config["OPTIONS"], **(options or {})},
    }
    return connections["default"].__class__(config, alias=alias)


@sqlite_only
def test_sqlite_options_are_wal_and_immediate():
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]
    assert connection.transaction_mode == "IMMEDIATE"


@sqlite_only
@pytest.mark.django_db
def test_sqlite_connections_run_in_wal_mode(tmp_path):
    probe = _probe_connection(tmp_path, "probe")
    try:
        with probe.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA foreign_keys")
            assert cursor.fetchone()[0] == 1
    finally:
        probe.close()


def _second_writer_blocked(tmp_path, options):
    """Open a transaction on one connection (read only), then try BEGIN on a second one."""
    first = _probe_connection(tmp_path, "first", options)
    try:
        with first.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS t (x integer)")
        first._start_transaction_under_autocommit()  # what atomic() does on SQLite
        with first.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM t")  # reads only
        outcome = []

        def write():
            # A connection belongs to the thread that uses it.
            second = _probe_connection(tmp_path, "second", {**options, "timeout": 0.2})
            try:
                second.ensure_connection()
                second._start_transaction_under_autocommit()
                with second.cursor() as cursor:
                    cursor.execute("INSERT INTO t VALUES (1)")
                outcome.append("wrote")
            except OperationalError as exc:
                outcome.append(str(exc))
            except Exception as exc:  # noqa: BLE001 - surfaced by the assertion
                outcome.append(repr(exc))
            finally:
                second.close()

        thread = threading.Thread(target=write)
        thread.start()
        thread.join(timeout=10)
        return outcome
    finally:
        first.close()


@sqlite_only
@pytest.mark.django_db
def test_sqlite_transactions_take_the_write_lock_at_begin(tmp_path):
    """BEGIN IMMEDIATE: a transaction holds the write lock from its start, before it writes, so
    a second writer waits at BEGIN (here: times out after 0.2 s) instead of failing half-way
    through its transaction with 'database is locked'."""
    assert _second_writer_blocked(tmp_path, {}) == ["database is locked"]
    # Control: with SQLite's default DEFERRED transactions, the reader holds no write lock.
    assert _second_writer_blocked(tmp_path, {"transaction_mode": None}) == ["wrote"]


@pytest.mark.django_db
def test_oversized_request_bodies_are_refused_before_reading(client, settings, users):
    settings.MAX_REQUEST_BYTES = 1024
    client.force_login(users["acme.user"])
    body = "x" * 4096
    api = client.post("/api/v1/tickets/", data=body, content_type="application/json")
    assert api.status_code == 413 and api.json()["detail"]  # a message, in the user's language
    page = client.post("/tickets/new/", data=body, content_type="application/x-www-form-urlencoded")
    assert page.status_code == 413
    small = client.post("/api/v1/tickets/", data="{}", content_type="application/json")
    assert small.status_code == 400
