"""Brute force: sign-in and password-reset limits with a growing delay, counted by the client
address that TRUSTED_PROXY_COUNT allows (issue 13, "What was seen" 2 and 3)."""

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from pim import tasks
from pim.models import ApiToken
from pim.security.clientip import client_ip

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"


def login(client, username, password, xff=None, **extra):
    extra.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
    if xff:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def token(username, password, xff=None, **extra):
    extra.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
    if xff:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    return APIClient().post(
        TOKEN, {"username": username, "password": password}, format="json", **extra
    )


def signed_in(client):
    return SESSION_KEY in client.session


def assert_refused(response, text="Too many failed sign-in attempts"):
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    body = (
        response.json()["detail"]
        if response["Content-Type"].startswith("application/json")
        else response.text
    )
    assert text in body


# --- the client address -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "proxies, xff, expected",
    [
        (0, "6.6.6.6", "10.0.0.9"),  # no trusted proxy: the header is ignored
        (0, None, "10.0.0.9"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # what our proxy appended
        (1, "203.0.113.7", "203.0.113.7"),
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (3, "203.0.113.7", "203.0.113.7"),  # fewer entries than proxies: the leftmost
        (1, None, "10.0.0.9"),
    ],
)
def test_client_address_follows_trusted_proxy_count(settings, proxies, xff, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    extra = {"REMOTE_ADDR": "10.0.0.9"}
    if xff is not None:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    assert client_ip(RequestFactory().get("/", **extra)) == expected


def test_drf_counts_by_the_same_address(settings):
    from rest_framework.settings import api_settings

    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.TRUSTED_PROXY_COUNT == 0
    assert api_settings.NUM_PROXIES == 0


def test_token_throttle_ignores_a_forged_forwarded_for(users):
    """10/min per address on the token endpoint: a new X-Forwarded-For per try used to get
    through, and a throttled client got a token by forging the header. (Frozen: the throttles
    count per minute window, and a window's edge between the tries would start over.)"""
    with freeze_time("2026-11-25 09:00:00"):
        codes = [token("acme.user", "demo", xff=f"198.51.100.{i}").status_code for i in range(10)]
        assert codes == [200] * 10
        refused = token("acme.user", "demo", xff="198.51.100.99")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "token" not in refused.json()
    assert ApiToken.objects.count() == 10


# --- sign-in ----------------------------------------------------------------------------------


def test_eleventh_wrong_password_is_refused_on_login_whatever_x_forwarded_for(client, users):
    for i in range(10):
        response = login(client, "opsmanager", f"guess-{i}", xff=f"192.0.2.{i}")
        assert response.status_code == 200 and not signed_in(client)
    refused = login(client, "opsmanager", "demo", xff="192.0.2.200")  # even the right one
    assert_refused(refused)
    assert not signed_in(client)
    # other case of the same name counts for the same account
    assert_refused(login(client, "OpsManager", "guess"))


def test_login_and_token_endpoint_share_one_count(users):
    client = APIClient()
    for i in range(5):
        assert login(client, "opsmanager", f"guess-{i}", xff=f"192.0.2.{i}").status_code == 200
        assert token("opsmanager", f"guess-{i}", xff=f"192.0.2.{i}").status_code == 400
    refused = token("opsmanager", "demo", xff="192.0.2.77")  # the right password, 11th try
    assert_refused(refused)
    assert ApiToken.objects.count() == 0
    assert_refused(login(client, "opsmanager", "demo"))


def test_right_password_works_after_the_wait_and_the_wait_grows(client, users):
    start = timezone.now()
    with freeze_time(start) as clock:
        for i in range(10):
            login(client, "opsmanager", f"guess-{i}")
        refused = login(client, "opsmanager", "demo")
        assert_refused(refused)
        assert int(refused["Retry-After"]) == 60
        clock.move_to(start + timedelta(seconds=61))
        assert login(client, "opsmanager", "wrong again").status_code == 200  # allowed, counted
        second = login(client, "opsmanager", "demo")
        assert_refused(second)
        assert int(second["Retry-After"]) == 120  # the wait doubles
        clock.move_to(start + timedelta(seconds=61 + 121))
        assert login(client, "opsmanager", "demo").status_code == 302
        assert signed_in(client)


def test_the_right_password_clears_the_count(client, users):
    for i in range(9):
        login(client, "acme.user", f"guess-{i}")
    assert login(client, "acme.user", "demo").status_code == 302
    client.logout()
    for i in range(9):
        assert login(client, "acme.user", f"guess-{i}").status_code == 200
    assert login(client, "acme.user", "demo").status_code == 302


def test_nobody_locks_a_manager_out_from_another_address(client, users, settings):
    settings.TRUSTED_PROXY_COUNT = 1  # behind our proxy: its entry is the client address
    for i in range(12):
        login(client, "director", f"guess-{i}", xff="6.6.6.6, 203.0.113.66")
    assert_refused(login(client, "director", "demo", xff="1.2.3.4, 203.0.113.66"))
    office = login(client, "director", "demo", xff="6.6.6.6, 203.0.113.10")
    assert office.status_code == 302 and signed_in(client)


def test_one_address_trying_many_accounts_is_held_back(client, users, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 5
    for name in ["agent", "oncall", "csm", "opsmanager", "director"]:
        assert login(client, name, "guess").status_code == 200
    assert_refused(login(client, "acme.user", "demo"))
    assert_refused(token("acme.user", "demo"))


def test_an_admin_lifts_a_block(client, users):
    for i in range(10):
        login(client, "opsmanager", f"guess-{i}")
    assert_refused(login(client, "opsmanager", "demo"))

    admin = users["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    staff = type(client)()
    staff.force_login(admin)
    changelist = reverse("admin:pim_user_changelist")
    listed = staff.get(changelist)
    assert "lift_sign_in_blocks" in listed.text
    response = staff.post(
        changelist,
        {"action": "lift_sign_in_blocks", "_selected_action": [users["opsmanager"].pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "opsmanager" in response.text and "1" in response.text
    assert login(client, "opsmanager", "demo").status_code == 302
    assert signed_in(client)


def test_lockout_message_in_dutch(client, users):
    for i in range(10):
        login(client, "acme.user", f"guess-{i}")
    refused = login(client, "acme.user", "demo", HTTP_ACCEPT_LANGUAGE="nl")
    assert_refused(refused, "Te veel mislukte inlogpogingen")


# --- password reset ---------------------------------------------------------------------------


def test_eleventh_reset_request_from_one_address_is_refused(client, users, mailoutbox, eager_tasks):
    url = reverse("password_reset")
    for i in range(10):
        email = "acme.user@example.com" if i % 2 else f"nobody{i}@example.com"
        response = client.post(url, {"email": email}, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
        assert response.status_code == 302
    assert len(mailoutbox) == 5
    refused = client.post(url, {"email": "acme.user@example.com"}, HTTP_ACCEPT_LANGUAGE="en")
    assert_refused(refused, "Too many password reset requests")
    dutch = client.post(url, {"email": "acme.user@example.com"}, HTTP_ACCEPT_LANGUAGE="nl")
    assert_refused(dutch, "Te veel aanvragen om het wachtwoord opnieuw in te stellen")
    assert len(mailoutbox) == 5


def test_reset_answers_known_and_unknown_addresses_alike(client, users, mailoutbox, monkeypatch):
    """The page only enqueues the address: the same queries, the same answer, no mail in the
    request. The worker finds the account and mails it."""
    enqueued = []
    monkeypatch.setattr(
        tasks.send_password_reset, "apply_async", lambda args, **kw: enqueued.append(args)
    )
    url = reverse("password_reset")
    answers = []
    for email in ("acme.user@example.com", "nobody@example.com"):
        with CaptureQueriesContext(connection) as queries:
            response = client.post(url, {"email": email})
        answers.append((response.status_code, response["Location"], len(queries)))
    assert answers[0] == answers[1]
    assert not any("pim_user" in q["sql"] for q in queries.captured_queries)
    assert mailoutbox == []
    assert enqueued == [("acme.user@example.com",), ("nobody@example.com",)]
    for (email,) in enqueued:
        tasks.send_password_reset(email)
    assert [m.to for m in mailoutbox] == [["acme.user@example.com"]]
    assert "http://127.0.0.1:8000/accounts/reset/" in mailoutbox[0].body
