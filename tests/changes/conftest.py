from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from tickets import services

AMS = ZoneInfo("Europe/Amsterdam")


def at(*args):
    return datetime(*args, tzinfo=AMS)


@pytest.fixture
def file_change(users, contracts):
    """A change request filed by `reporter` (at a frozen moment, Wednesday 25-11-2026 10:00)."""

    def _file(reporter="acme.contact", priority=3, when=None, **kwargs):
        kwargs.setdefault("title", "New extension for reception")
        kwargs.setdefault("description", "Add extension 215 to the reception hunt group.")
        with freeze_time(when or at(2026, 11, 25, 10, 0)):
            return services.create_ticket(
                actor=users[reporter], kind="change", priority=priority, **kwargs
            )

    return _file


@pytest.fixture(autouse=True)
def _mail_in_memory(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture(autouse=True)
def _broker_breaker_closed(monkeypatch):
    from escalation import outbox

    monkeypatch.setattr(outbox, "_broker_down_until", 0.0)
