from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from tickets import services

AMS = ZoneInfo("Europe/Amsterdam")


def at(*args):
    return datetime(*args, tzinfo=AMS)


@pytest.fixture
def file_ticket(users, contracts):
    def _file(reporter="globex.user", priority=2, when=None, **kwargs):
        kwargs.setdefault("title", "Lines down")
        kwargs.setdefault("description", "Nobody can call out.")
        with freeze_time(when or at(2026, 11, 25, 10, 0)):
            return services.create_ticket(actor=users[reporter], priority=priority, **kwargs)

    return _file


@pytest.fixture(autouse=True)
def _mail_in_memory(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture(autouse=True)
def _broker_breaker_closed(monkeypatch):
    from escalation import outbox

    monkeypatch.setattr(outbox, "_broker_down_until", 0.0)


def ensure_migration_data():
    """Transactional tests run after a flush that removed the data migrations' rows (policy,
    calendars, escalation matrix and triggers): put them back (the migrations are idempotent).
    Cheaper and sturdier than serialized_rollback next to other transactional tests."""
    import importlib

    from django.apps import apps

    for module in (
        "sla.migrations.0002_default_policy",
        "escalation.migrations.0002_default_matrix",
    ):
        importlib.import_module(module).create(apps, None)
