"""The suite is deterministic (issue 13): no test depends on the order of the tests, the wall
clock or state left under var/ by an earlier run."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from freezegun import freeze_time


def test_throttle_timer_follows_frozen_time():
    """DRF's throttles read the clock through `timer`; under freezegun they must neither fail
    (`fake_time() takes 0 positional arguments but 1 was given`) nor read the real clock."""
    from rest_framework import throttling

    with freeze_time("2026-11-25 09:00:00"):
        for throttle in (throttling.AnonRateThrottle(), throttling.UserRateThrottle()):
            assert throttle.timer() == datetime(2026, 11, 25, 9, 0, tzinfo=UTC).timestamp()


@pytest.mark.django_db
def test_a_throttled_api_request_in_frozen_time(users, monkeypatch):
    from rest_framework import throttling

    rates = {**throttling.UserRateThrottle.THROTTLE_RATES, "user": "2/min"}
    monkeypatch.setattr(throttling.UserRateThrottle, "THROTTLE_RATES", rates)
    client = Client()
    with freeze_time("2026-11-25 09:00:00"):
        client.force_login(users["acme.user"])
        assert [client.get("/api/v1/tickets/").status_code for _ in range(3)] == [200, 200, 429]
    with freeze_time("2026-11-25 09:01:01"):
        assert client.get("/api/v1/tickets/").status_code == 200  # the window moved on


def _under_var(path):
    var = Path(settings.VAR_DIR).resolve()
    try:
        return Path(str(path)).resolve().is_relative_to(var)
    except (OSError, ValueError):
        return False


@pytest.mark.django_db
def test_no_state_under_var():
    """The cache, the broker, the test database and the uploads of the suite live in memory
    (or in a service / temporary folder of their own), never under var/, where they would carry
    throttle counts, queued notifications or files from one run into the next."""
    cache = settings.CACHES["default"]
    assert "FileBasedCache" not in cache["BACKEND"], cache
    assert not settings.CELERY_BROKER_URL.startswith("filesystem://"), settings.CELERY_BROKER_URL
    name = connection.settings_dict["NAME"]
    assert not _under_var(name) or connection.vendor != "sqlite", name
    assert not _under_var(settings.STORAGES["default"]["OPTIONS"]["location"])


@pytest.mark.django_db
def test_the_api_schema_is_english_by_default():
    """The portal speaks Dutch by default; the OpenAPI schema (titles, enum descriptions) is in
    English, the API's language, unless `lang` asks otherwise."""
    client = Client()
    english = client.get("/api/schema/?format=json").content.decode()
    dutch = client.get("/api/schema/?format=json&lang=nl").content.decode()
    assert "Waiting for customer" in english and "Wachten op klant" not in english
    assert "Wachten op klant" in dutch
    with_dutch_browser = client.get(
        "/api/schema/?format=json", headers={"Accept-Language": "nl"}
    ).content.decode()
    assert with_dutch_browser == english


@pytest.mark.django_db
def test_a_test_login_survives_time_travel(users):
    """force_login in a test does not tie the session to today's date (tests/conftest.py)."""
    client = Client()
    client.force_login(users["acme.user"])
    for moment in ("2020-01-01 09:00:00", "2026-11-25 09:00:00", "2031-06-01 09:00:00"):
        with freeze_time(moment):
            assert client.get("/tickets/").status_code == 200, moment
    with freeze_time("2026-11-25 09:00:00"):
        client.force_login(users["acme.user"])
    assert client.get("/tickets/").status_code == 200
