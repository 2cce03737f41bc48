"""Checks behind docs/security.md that no other test covers: sessions, cookies, CSRF on the
session-authenticated API, content types, and attachment file names."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from tickets import services

pytestmark = pytest.mark.django_db


def login(client, username="acme.user"):
    response = client.post(reverse("login"), {"username": username, "password": "demo"})
    assert response.status_code == 302
    return response


def test_login_issues_a_new_session_id(users, settings):
    """ASVS 3.2.1: a new session token on authentication (no fixation)."""
    client = Client()
    client.get(reverse("login"))
    session = client.session
    session["probe"] = 1
    session.save()
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    login(client)
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert before != after


def test_logout_invalidates_the_session_server_side(users, settings):
    """ASVS 3.3.1: logging out kills the session; the old cookie no longer works."""
    client = Client()
    login(client)
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(reverse("logout"))
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = stolen
    response = thief.get(reverse("ticket-list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_session_expires_after_a_working_day(users):
    """ASVS 3.3.2: sessions time out."""
    client = Client()
    with freeze_time("2026-11-25 08:00:00"):
        login(client)
        assert client.get(reverse("ticket-list")).status_code == 200
    with freeze_time("2026-11-25 16:01:00"):
        assert client.get(reverse("ticket-list")).status_code == 302


def test_cookie_attributes(users, settings):
    """ASVS 3.4.1–3.4.3: HttpOnly and SameSite on the session cookie; Secure over HTTPS."""
    client = Client()
    login(client)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["domain"]


def test_https_cookie_names_and_flags(monkeypatch, tmp_path):
    """ASVS 3.4.1 and 3.4.4: over HTTPS the cookies are Secure and carry the __Host- prefix."""
    import subprocess
    import sys

    code = (
        "import django, os; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE)"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "pim.settings",
        "HTTPS": "true",
        "PIM_VAR_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["__Host-pim-session", "__Host-pim-csrf", "True", "True"]


def test_session_api_requires_csrf(users, make_ticket):
    """ASVS 13.2.3: a cookie-authenticated API write without the CSRF token is refused."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["acme.user"])
    response = client.post(
        "/api/v1/tickets/",
        {"title": "x", "description": "y", "priority": 3},
        content_type="application/json",
    )
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


def test_unexpected_content_type_is_415(api, users):
    """ASVS 13.1.5 / 13.2.5: a body in a content type the endpoint does not accept."""
    response = api(users["acme.user"]).post(
        "/api/v1/tickets/", "<ticket/>", content_type="application/xml"
    )
    assert response.status_code == 415


def test_attachment_names_cannot_traverse_or_inject_headers(users, make_ticket, client):
    """ASVS 12.3.1: the stored name is random; a hostile original name is only echoed, safely,
    in Content-Disposition."""
    ticket = make_ticket("acme.user")
    attachment = services.add_attachment(
        ticket,
        users["acme.user"],
        SimpleUploadedFile('../../etc/passwd"\r\nX-Evil: 1.txt', b"hello", "text/plain"),
    )
    assert "/" not in attachment.original_name and ".." not in attachment.file.name.split("/")[-1]
    assert attachment.file.name.startswith(f"{ticket.organization_id}/")
    client.force_login(users["acme.user"])
    response = client.get(reverse("attachment-download", args=[attachment.pk]))
    assert response.status_code == 200
    assert "X-Evil" not in response.headers
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    b"".join(response.streaming_content)


def test_sessions_last_at_most_the_configured_age(settings):
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600
    assert timedelta(seconds=settings.SESSION_COOKIE_AGE) <= timedelta(hours=8)


def test_password_change_ends_other_sessions(users, settings):
    """ASVS 3.3.3: after a password change, other logged-in sessions are logged out."""
    laptop, phone = Client(), Client()
    login(laptop)
    login(phone)
    response = laptop.post(
        reverse("password_change"),
        {
            "old_password": "demo",
            "new_password1": "K0ffie-met-melk!",
            "new_password2": "K0ffie-met-melk!",
        },
    )
    assert response.status_code == 302
    assert laptop.get(reverse("ticket-list")).status_code == 200  # the session that changed it
    assert phone.get(reverse("ticket-list")).status_code == 302  # the other one is gone


def test_session_ids_are_long_and_random(users, settings):
    """ASVS 3.2.2: at least 64 bits of entropy (Django: 32 chars of [a-z0-9], ~165 bits)."""
    keys = set()
    for _ in range(3):
        client = Client()
        login(client)
        keys.add(client.cookies[settings.SESSION_COOKIE_NAME].value)
    assert len(keys) == 3 and all(len(k) >= 32 for k in keys)
