"""Fixtures for maintenance: a fixed "now" (Wednesday 25 November 2026, 10:00 Amsterdam), a notice
factory that goes through maintenance.services, and e-mail in memory."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from freezegun import freeze_time

from maintenance import services
from maintenance.models import Kind

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=AMS)


def at(*args):
    return datetime(*args, tzinfo=AMS)


@pytest.fixture(autouse=True)
def _mail_in_memory(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def now():
    with freeze_time(NOW):
        yield NOW


@pytest.fixture
def make_notice(users, acme):
    """A notice through the service layer (staff: agent), at NOW unless `when` says otherwise."""

    def _make(
        start=None,
        hours=2,
        kind=Kind.PREVENTIVE,
        organizations=None,
        actor="agent",
        when=NOW,
        **kwargs,
    ):
        start = start or at(2026, 12, 8, 22, 0)  # a Tuesday, 13 days ahead
        kwargs.setdefault("title", "Core router firmware")
        if organizations is None and not kwargs.get("all_organizations"):
            organizations = [acme]
        with freeze_time(when):
            return services.create_notice(
                users[actor],
                kind=kind,
                starts_at=start,
                ends_at=start + timedelta(hours=hours),
                organizations=organizations or [],
                **kwargs,
            )

    return _make
