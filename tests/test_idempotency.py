"""`Idempotency-Key` on POST: a retried request returns the first response, creates nothing."""

import pytest

from tickets.models import Ticket

pytestmark = pytest.mark.django_db
NEW = {"title": "Headset broken", "description": "Crackles", "priority": 4}


def test_retry_returns_first_response_and_creates_once(users, api):
    client = api(users["acme.user"])
    first = client.post("/api/v1/tickets/", NEW, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/tickets/", NEW, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Ticket.objects.count() == 1


def test_without_key_each_post_creates(users, api):
    client = api(users["acme.user"])
    client.post("/api/v1/tickets/", NEW, format="json")
    client.post("/api/v1/tickets/", NEW, format="json")
    assert Ticket.objects.count() == 2


def test_key_reused_for_another_request_is_refused(users, api):
    client = api(users["acme.user"])
    client.post("/api/v1/tickets/", NEW, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = client.post(
        "/api/v1/tickets/", {**NEW, "title": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert other.status_code == 422
    assert Ticket.objects.count() == 1


def test_keys_are_per_user(users, api):
    api(users["acme.user"]).post("/api/v1/tickets/", NEW, format="json", HTTP_IDEMPOTENCY_KEY="k")
    second = api(users["globex.user"]).post(
        "/api/v1/tickets/", NEW, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert second.status_code == 201 and "Idempotent-Replayed" not in second
    assert Ticket.objects.count() == 2
    assert second.json()["organization"] != Ticket.objects.earliest("pk").organization_id


def test_client_errors_are_replayed_and_actions_too(users, api, make_ticket):
    client = api(users["acme.user"])
    bad = client.post("/api/v1/tickets/", {"title": ""}, format="json", HTTP_IDEMPOTENCY_KEY="b")
    again = client.post("/api/v1/tickets/", {"title": ""}, format="json", HTTP_IDEMPOTENCY_KEY="b")
    assert bad.status_code == again.status_code == 400 and again.json() == bad.json()
    ticket = make_ticket("acme.user")
    url = f"/api/v1/tickets/{ticket.pk}/updates/"
    for _ in range(2):
        r = client.post(url, {"body": "Still broken"}, format="json", HTTP_IDEMPOTENCY_KEY="u")
        assert r.status_code == 201
    assert ticket.updates.count() == 1


def test_overlong_key_refused(users, api):
    r = api(users["acme.user"]).post(
        "/api/v1/tickets/", NEW, format="json", HTTP_IDEMPOTENCY_KEY="x" * 300
    )
    assert r.status_code == 400 and Ticket.objects.count() == 0
