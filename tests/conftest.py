"""Shared fixtures: two customer organisations, a user for every role, a ticket factory."""

import datetime as dt
import time
from datetime import UTC, datetime

import freezegun
import pytest
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from pim.models import Location, Membership, Organization, Role, Service, User
from sla.models import Contract, ServiceWindow, SlaPolicy

# pytest times each test through `_pytest.timing` (time.perf_counter): freezegun leaves that one
# module on the real clock, so `--durations` (CI prints the slowest 25) no longer reports a test
# whose fixture froze the time as taking 57 years. Only that module: freezegun also answers the
# real time to any call with an ignored module among its nearest frames, and a test body's
# caller is `_pytest.python` (ignoring all of `_pytest` broke tests/test_determinism.py).
freezegun.configure(extend_ignore_list=["_pytest.timing"])


@pytest.fixture(autouse=True, scope="session")
def _throttle_timer_reads_the_clock():
    """DRF's `SimpleRateThrottle.timer = time.time` captures the function when the module is
    first imported. If that happens inside a freezegun block (the first API request of a run
    may well be frozen), the timer is freezegun's fake_time, a plain function that then binds
    as a method: `fake_time() takes 0 positional arguments but 1 was given`, depending on the
    order of the tests. Import it here, outside any frozen time, with a timer that reads the
    clock (real or frozen) at each call."""
    from rest_framework import throttling

    throttling.SimpleRateThrottle.timer = staticmethod(lambda: time.time())
    yield


@pytest.fixture(autouse=True)
def _no_scope_in_test_code():
    """Test code builds data across tenants; requests still run in their user's scope."""
    with scopes_disabled():
        yield


@pytest.fixture(autouse=True)
def _force_login_passes_the_second_step(monkeypatch):
    """`force_login` skips the login form. For a user who needs two-factor login (provider
    staff) it stands for the second step too, the honest way: the user gets a real confirmed
    TOTP device (as after the set-up) and the session the key `django_otp.login` stores after
    a correct code. Tests of the login itself go through the forms (tests/test_two_factor.py,
    tests/e2e/)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from pim.security import twofactor

    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        if twofactor.is_required(user):
            device = twofactor.authenticator(user) or TOTPDevice.objects.create(
                user=user, name="authenticator", confirmed=True
            )
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture(autouse=True)
def _test_logins_outlive_time_travel(monkeypatch, _force_login_passes_the_second_step):
    """`Client.force_login` makes a session that expires SESSION_COOKIE_AGE (8 hours) after the
    wall clock. A test that logs in and then travels with freezegun, or the other way round,
    would be sent to the login page or not depending on today's date. A test login lasts until
    the end of the supported time instead; a real login through the login form
    (tests/test_asvs.py::test_session_expires_after_a_working_day) keeps the production
    timeout."""
    from django.test import Client

    force_login = Client.force_login  # with the second step of two-factor login

    def lasting_force_login(self, user, backend=None):
        force_login(self, user, backend)
        session = self.session
        session.set_expiry(datetime(9000, 1, 1, tzinfo=UTC))
        session.save()

    monkeypatch.setattr(Client, "force_login", lasting_force_login)


@pytest.fixture(autouse=True)
def _fresh_caches():
    """The cache (and the configuration copies kept under it: calendars, terms, triggers)
    outlive a test's rolled-back transaction."""
    from django.core.cache import cache

    from pim import config_cache

    cache.clear()
    config_cache.clear()
    yield
    cache.clear()
    config_cache.clear()


@pytest.fixture(autouse=True)
def _attachments_in_tmp(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "attachments")},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def make_user(username, role, organization=None, language="en"):
    user = User.objects.create_user(
        username=username, password="demo", email=f"{username}@example.com", language=language
    )
    Membership.objects.create(user=user, role=role, organization=organization)
    return user


@pytest.fixture
def acme(db):
    org = Organization.objects.create(name="Acme Zorg", slug="acme")
    Service.objects.create(organization=org, name="Telefonie", code="telefonie")
    Location.objects.create(organization=org, name="Utrecht")
    return org


@pytest.fixture
def globex(db):
    org = Organization.objects.create(name="Globex Logistics", slug="globex")
    Service.objects.create(organization=org, name="Datacenter", code="datacenter")
    Location.objects.create(organization=org, name="Rotterdam")
    return org


@pytest.fixture
def users(acme, globex):
    """One user per role: customers of both organisations and all provider staff."""
    return {
        "acme.user": make_user("acme.user", Role.CUSTOMER_USER, acme),
        "acme.user2": make_user("acme.user2", Role.CUSTOMER_USER, acme),
        "acme.contact": make_user("acme.contact", Role.AUTHORISED_CONTACT, acme),
        "globex.user": make_user("globex.user", Role.CUSTOMER_USER, globex),
        "globex.contact": make_user("globex.contact", Role.AUTHORISED_CONTACT, globex),
        "agent": make_user("agent", Role.AGENT),
        "oncall": make_user("oncall", Role.ONCALL),
        "csm": make_user("csm", Role.CSM),
        "opsmanager": make_user("opsmanager", Role.OPS_MANAGER),
        "director": make_user("director", Role.OPS_DIRECTOR),
        "admin": make_user("admin", Role.ADMIN),
    }


@pytest.fixture
def make_ticket(users):
    from tickets import services

    def _make(reporter="acme.user", **kwargs):
        reporter = users[reporter] if isinstance(reporter, str) else reporter
        kwargs.setdefault("title", "Phone system down")
        kwargs.setdefault("description", "Nobody can call out.")
        kwargs.setdefault("priority", 3)
        return services.create_ticket(actor=reporter, **kwargs)

    return _make


@pytest.fixture
def api():
    def _client(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return _client


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """PBKDF2 at full strength costs ~0.3 s per user; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def eager_tasks(monkeypatch):
    """Celery tasks run in the test's thread instead of going to the broker under var/."""
    from pim.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)


@pytest.fixture
def contracts(db, acme, globex):  # tests/sla has its own, on its policy fixture
    """Acme on office hours, Globex on 24/7 (the demo contracts)."""
    policy = SlaPolicy.objects.get(name="Standaard SLA")
    start = dt.date(2020, 1, 1)
    return {
        "acme": Contract.objects.create(
            organization=acme, policy=policy, service_window=ServiceWindow.OFFICE_HOURS,
            valid_from=start,
        ),
        "globex": Contract.objects.create(
            organization=globex, policy=policy, service_window=ServiceWindow.ALWAYS,
            valid_from=start,
        ),
    }  # fmt: skip
