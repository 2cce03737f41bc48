"""Personal API tokens (hashed, shown once, revocable) and rate limiting."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from freezegun import freeze_time
from rest_framework.test import APIClient

from pim.auth import digest
from pim.models import ApiToken

pytestmark = pytest.mark.django_db


def obtain(username="acme.user", password="demo", **extra):
    return APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password, **extra}, format="json"
    )


def test_token_is_shown_once_and_stored_hashed(users):
    response = obtain(name="monitoring")
    assert response.status_code == 200
    key = response.json()["token"]
    row = ApiToken.objects.get()
    assert row.name == "monitoring" and row.user == users["acme.user"]
    assert key not in (row.digest, row.prefix) and row.digest == digest(key)
    assert key.startswith(row.prefix)
    listed = APIClient()
    listed.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    body = listed.get("/api/v1/tokens/").json()
    assert key not in str(body)
    assert [t["name"] for t in body["results"]] == ["monitoring"]


def test_wrong_password_refused(users):
    response = obtain(password="nope")
    assert response.status_code in (400, 401) and "token" not in response.json()


def test_token_acts_with_its_users_rights_and_revocation(users, make_ticket):
    own = make_ticket("acme.user")
    other = make_ticket("globex.user")
    key = obtain().json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    numbers = [t["number"] for t in client.get("/api/v1/tickets/").json()["results"]]
    assert numbers == [own.number]
    assert client.get(f"/api/v1/tickets/{other.pk}/").status_code == 404
    assert ApiToken.objects.get().last_used_at is not None
    token_id = ApiToken.objects.get().pk
    assert client.delete(f"/api/v1/tokens/{token_id}/").status_code == 204
    assert client.get("/api/v1/tickets/").status_code == 401


def test_cannot_revoke_someone_elses_token(users):
    obtain("globex.user")
    theirs = ApiToken.objects.get()
    client = APIClient()
    client.force_authenticate(users["acme.user"])
    assert client.delete(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_token_page_create_and_revoke(users, client):
    client.force_login(users["acme.contact"])
    created = client.post(reverse("account-tokens"), {"name": "ERP koppeling"})
    assert created.status_code == 302 and created["Location"] == reverse("account-tokens")
    token = ApiToken.objects.get()
    page = client.get(reverse("account-tokens"))
    key = page.context["new_key"]
    assert digest(key) == token.digest and key in page.content.decode()
    assert "no-store" in page["Cache-Control"]  # the key is never cached
    assert 'data-copy="new-token"' in page.content.decode()
    assert key not in client.get(reverse("account-tokens")).content.decode()  # shown once
    assert ApiToken.objects.count() == 1  # a reload after creating makes no second token
    assert "data-confirm=" in page.content.decode()  # revoking asks first (pim.js)
    assert client.post(reverse("account-tokens"), {"name": "  "}).status_code == 400
    client.post(reverse("account-tokens"), {"revoke": str(token.pk)})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.post(reverse("account-tokens"), {"revoke": "x"}).status_code == 400
    assert client.post(reverse("account-tokens"), {"revoke": str(token.pk + 1)}).status_code == 404


def test_rate_limit_answers_429_with_retry_after(users, settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "user": "3/min"},
    }
    from rest_framework import throttling

    throttling.UserRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        cache.clear()
        client = APIClient()
        client.force_authenticate(users["agent"])
        with freeze_time("2026-11-25 09:00:20"):  # one minute window (its edge would start over)
            codes = [client.get("/api/v1/tickets/").status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            last = client.get("/api/v1/tickets/")
        assert last.status_code == 429 and int(last["Retry-After"]) == 40  # the rest of it
    finally:
        throttling.UserRateThrottle.THROTTLE_RATES = rates
        cache.clear()


def test_login_endpoint_is_throttled(users, settings):
    from rest_framework import throttling

    rates = throttling.ScopedRateThrottle.THROTTLE_RATES
    throttling.ScopedRateThrottle.THROTTLE_RATES = {**rates, "auth": "2/min"}
    try:
        cache.clear()
        with freeze_time("2026-11-25 09:00:00"):
            codes = [obtain(password="wrong").status_code for _ in range(3)]
        assert codes[-1] == 429
    finally:
        throttling.ScopedRateThrottle.THROTTLE_RATES = rates
        cache.clear()
