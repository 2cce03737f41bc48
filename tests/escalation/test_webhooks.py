"""Outgoing webhooks (Standard Webhooks): signatures as a receiver checks them, rotation,
retries ending in exactly one delivery against a real local HTTP server, 410, SSRF, tenants."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from escalation import delivery, outbox, receivers
from escalation import services as escalation
from escalation.models import Notification, WebhookDelivery, WebhookEndpoint
from escalation.webhooks import addresses, events, signing, transport
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The messages below are matched in English; the portal's default language is Dutch."""
    with translation.override("en"):
        yield


# The specification's published test vector.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def spec_headers(signature=SPEC_SIGNATURE, timestamp=SPEC_TIMESTAMP):
    return {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


# --- signing and the receiver helper -----------------------------------------------------------


def test_known_answer_vector():
    assert signing.sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_receiver_accepts_the_vector_within_tolerance():
    payload = signing.verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TIMESTAMP + 299)
    assert payload == {"test": 2432232314}


def test_receiver_rejects_an_old_timestamp():
    with pytest.raises(signing.VerificationError, match="tolerance"):
        signing.verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TIMESTAMP + 301)
    with pytest.raises(signing.VerificationError):  # with the real clock: years old
        signing.verify(SPEC_SECRET, spec_headers(), SPEC_BODY)


def test_receiver_rejects_a_wrong_signature_and_a_changed_body():
    wrong = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
    with pytest.raises(signing.VerificationError, match="signature"):
        signing.verify(SPEC_SECRET, spec_headers(wrong), SPEC_BODY, now=SPEC_TIMESTAMP)
    with pytest.raises(signing.VerificationError, match="signature"):
        signing.verify(SPEC_SECRET, spec_headers(), '{"test": 1}', now=SPEC_TIMESTAMP)
    other = "whsec_" + "A" * 32
    with pytest.raises(signing.VerificationError, match="signature"):
        signing.verify(other, spec_headers(), SPEC_BODY, now=SPEC_TIMESTAMP)


def test_new_secrets_are_whsec_with_24_random_bytes(acme):
    import base64

    endpoint = WebhookEndpoint.objects.create(organization=acme, url="https://example.com/h")
    assert endpoint.secret.startswith("whsec_")
    assert len(base64.b64decode(endpoint.secret.removeprefix("whsec_"))) >= 24
    other = WebhookEndpoint.objects.create(organization=acme, url="https://example.com/h")
    assert other.secret != endpoint.secret


def test_both_signatures_during_rotation_and_either_secret_verifies(acme):
    endpoint = WebhookEndpoint.objects.create(organization=acme, url="https://example.com/h")
    old = endpoint.secret
    endpoint.previous_secret, endpoint.secret = old, "whsec_" + "B" * 32
    endpoint.rotated_at = timezone.now()
    endpoint.save()
    now = int(time.time())
    headers = signing.headers_for(endpoint, "msg_x", now, SPEC_BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert signing.verify(old, headers, SPEC_BODY) == {"test": 2432232314}
    assert signing.verify(endpoint.secret, headers, SPEC_BODY) == {"test": 2432232314}
    # After 24 hours only the new secret signs.
    later = timezone.now() + timedelta(hours=25)
    headers = signing.headers_for(endpoint, "msg_x", now, SPEC_BODY, now=later)
    assert len(headers["webhook-signature"].split(" ")) == 1
    with pytest.raises(signing.VerificationError):
        signing.verify(old, headers, SPEC_BODY)


# --- a real receiver -------------------------------------------------------------------------


class Receiver:
    """http.server in a thread answering a scripted list of status codes."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body.decode()))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def local_endpoint(org, url, **kwargs):
    # Like an admin ticking "allow private addresses" in the admin site.
    return WebhookEndpoint.objects.create(organization=org, url=url, allow_private=True, **kwargs)


def webhook_rows(endpoint):
    return Notification.objects.filter(endpoint=endpoint, channel="webhook")


def test_ticket_created_writes_one_row_per_subscribed_endpoint(acme, globex, make_ticket):
    all_events = local_endpoint(acme, "http://127.0.0.1:9/a")
    sla_only = local_endpoint(acme, "http://127.0.0.1:9/b", event_types=["sla.breached"])
    inactive = local_endpoint(acme, "http://127.0.0.1:9/c", is_active=False)
    other_org = local_endpoint(globex, "http://127.0.0.1:9/d")
    ticket = make_ticket("acme.user")
    (row,) = webhook_rows(all_events)
    assert row.trigger == "ticket.created" and row.ticket == ticket and row.recipient is None
    assert row.context["data"]["ticket"]["number"] == ticket.number
    assert row.context["data"]["ticket"]["organization"] == "acme"
    for endpoint in (sla_only, inactive, other_org):
        assert not webhook_rows(endpoint).exists()
    # Registration running twice writes nothing twice.
    receivers.ticket_registered(Ticket, ticket=ticket)
    assert webhook_rows(all_events).count() == 1


def test_a_payload_never_names_another_organisations_ticket(acme, globex, make_ticket):
    local_endpoint(acme, "http://127.0.0.1:9/a")
    ticket = make_ticket("globex.user")
    with pytest.raises(ValueError):
        events.notify_webhooks(acme, "ticket.created", {}, ticket=ticket, key="x")


def test_retries_end_in_exactly_one_delivery(acme, make_ticket):
    with Receiver([500, 500, 200, 200]) as receiver:
        endpoint = local_endpoint(acme, receiver.url)
        ticket = make_ticket("acme.user")
        (row,) = webhook_rows(endpoint)
        results = []
        for _attempt in range(5):
            results.append(delivery.deliver(row.pk))
            row.refresh_from_db()
            if row.status == "pending":
                assert row.next_attempt_at > timezone.now()  # backoff
                Notification.objects.filter(pk=row.pk).update(next_attempt_at=None)
    assert results == [False, False, True, False, False]
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 3
    assert len(receiver.requests) == 3  # exactly one 2xx accepted, nothing after it
    ids = {headers["webhook-id"] for headers, _body in receiver.requests}
    assert ids == {signing.message_id(row)} and next(iter(ids)).startswith("msg_")
    assert list(
        WebhookDelivery.objects.filter(notification=row)
        .order_by("attempt")
        .values_list("attempt", "status_code")
    ) == [(1, 500), (2, 500), (3, 200)]
    headers, body = receiver.requests[-1]
    payload = signing.verify(endpoint.secret, headers, body)
    assert payload["type"] == "ticket.created"
    assert payload["data"]["ticket"]["number"] == ticket.number
    assert set(payload) == {"type", "timestamp", "data"}


def test_retries_stop_at_the_maximum_attempts(acme, make_ticket, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    with Receiver([503, 503, 503]) as receiver:
        endpoint = local_endpoint(acme, receiver.url)
        make_ticket("acme.user")
        (row,) = webhook_rows(endpoint)
        for _attempt in range(3):
            delivery.deliver(row.pk)
    row.refresh_from_db()
    assert row.status == "failed" and row.last_error == "HTTP 503"
    assert len(receiver.requests) == 2


def test_the_relay_hands_out_due_webhook_rows(acme, make_ticket, settings):
    settings.NOTIFICATION_RELAY_AFTER_SECONDS = 0
    endpoint = local_endpoint(acme, "http://127.0.0.1:9/a")
    make_ticket("acme.user")
    (row,) = webhook_rows(endpoint)
    assert row.pk in outbox.unsent(timezone.now() + timedelta(seconds=1))


def test_410_gone_disables_the_endpoint_and_stops_its_rows(acme, make_ticket):
    with Receiver([410]) as receiver:
        endpoint = local_endpoint(acme, receiver.url)
        make_ticket("acme.user")
        make_ticket("acme.user", title="Second")
        first, second = webhook_rows(endpoint).order_by("pk")
        assert delivery.deliver(first.pk) is False
        assert delivery.deliver(second.pk) is False
    endpoint.refresh_from_db()
    assert endpoint.is_active is False and "410" in endpoint.disabled_reason
    assert set(webhook_rows(endpoint).values_list("status", flat=True)) == {"failed"}
    assert len(receiver.requests) == 1
    make_ticket("acme.user", title="Third")
    assert webhook_rows(endpoint).count() == 2  # no new rows for a disabled endpoint


def test_send_time_check_refuses_an_address_that_became_private(acme, make_ticket, monkeypatch):
    endpoint = WebhookEndpoint.objects.create(organization=acme, url="https://hooks.example/h")
    make_ticket("acme.user")
    (row,) = webhook_rows(endpoint)
    monkeypatch.setattr(addresses, "resolve", lambda host, port: ["10.1.2.3"])  # rebinding
    posted = []
    monkeypatch.setattr(transport, "post", lambda *a: posted.append(a) or (200, ""))
    assert delivery.deliver(row.pk) is False
    assert not posted
    row.refresh_from_db()
    assert row.status == "pending" and "private" in row.last_error


# --- SSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_internal_addresses_are_refused(address, rule):
    with pytest.raises(ValidationError, match=rule):
        addresses.validate_url(f"http://[{address}]/" if ":" in address else f"http://{address}/")


def test_public_addresses_and_schemes(monkeypatch):
    monkeypatch.setattr(addresses, "resolve", lambda host, port: ["93.184.216.34"])
    addresses.validate_url("https://hooks.example/h")
    for url in ("ftp://hooks.example/", "file:///etc/passwd", "gopher://x/", "https://u:p@x/"):
        with pytest.raises(ValidationError):
            addresses.validate_url(url)
    addresses.validate_url("http://127.0.0.1/", allow_private=True)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5/hook", "http://169.254.169.254/", "http://localhost/"]
)
def test_api_refuses_a_private_url_with_a_clear_400(users, api, url):
    response = api(users["acme.contact"]).post("/api/v1/webhooks/", {"url": url}, format="json")
    assert response.status_code == 400
    assert "Refused" in response.json()["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_admin_may_allow_a_loopback_endpoint(acme):
    endpoint = WebhookEndpoint(organization=acme, url="http://127.0.0.1:8080/h")
    with pytest.raises(ValidationError, match="loopback"):
        endpoint.full_clean()
    endpoint.allow_private = True
    endpoint.full_clean()


# --- API --------------------------------------------------------------------------------------


@pytest.fixture
def public_dns(monkeypatch):
    monkeypatch.setattr(addresses, "resolve", lambda host, port: ["93.184.216.34"])


def test_contact_creates_rotates_tests_and_reads_the_log(users, api, acme, globex, public_dns):
    client = api(users["acme.contact"])
    response = client.post(
        "/api/v1/webhooks/",
        {
            "url": "https://hooks.example/pim",
            "event_types": ["ticket.created"],
            "organization": globex.pk,  # ignored: a contact's endpoint is their organisation's
            "allow_private": True,  # read-only
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["secret"].startswith("whsec_") and created["organization"] == acme.pk
    assert created["allow_private"] is False
    pk = created["id"]
    listed = client.get("/api/v1/webhooks/").json()
    assert [e["id"] for e in listed["results"]] == [pk] and "secret" not in listed["results"][0]

    rotated = client.post(f"/api/v1/webhooks/{pk}/rotate/").json()
    assert rotated["secret"] != created["secret"] and rotated["rotated_at"]
    endpoint = WebhookEndpoint.objects.get(pk=pk)
    assert endpoint.previous_secret == created["secret"]

    response = client.post(f"/api/v1/webhooks/{pk}/test/")
    assert response.status_code == 202
    row = Notification.objects.get(pk=response.json()["notification"])
    assert row.trigger == "webhook.test" and row.endpoint == endpoint
    assert response.json()["webhook_id"] == signing.message_id(row)
    WebhookDelivery.objects.create(notification=row, attempt=1, status_code=200, at=row.created_at)
    log = client.get(f"/api/v1/webhooks/{pk}/deliveries/").json()
    assert log["count"] == 1 and log["results"][0]["event_type"] == "webhook.test"

    assert client.delete(f"/api/v1/webhooks/{pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_tenant_isolation(users, api, globex):
    theirs = WebhookEndpoint.objects.create(organization=globex, url="https://globex.example/h")
    client = api(users["acme.contact"])
    assert client.get("/api/v1/webhooks/").json()["count"] == 0
    for path in ("", "deliveries/"):
        assert client.get(f"/api/v1/webhooks/{theirs.pk}/{path}").status_code == 404
    for path in ("rotate/", "test/"):
        assert client.post(f"/api/v1/webhooks/{theirs.pk}/{path}").status_code == 404
    assert client.delete(f"/api/v1/webhooks/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert not theirs.previous_secret
    owner = api(users["globex.contact"])
    assert owner.get(f"/api/v1/webhooks/{theirs.pk}/").status_code == 200


def test_customer_users_and_agents_cannot_manage_webhooks(users, api, acme, public_dns):
    endpoint = WebhookEndpoint.objects.create(organization=acme, url="https://acme.example/h")
    for username in ("acme.user", "agent"):
        client = api(users[username])
        assert client.get(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 404
        response = client.post("/api/v1/webhooks/", {"url": "https://x.example/"}, format="json")
        assert response.status_code == 403


def test_admin_creates_for_an_organisation(users, api, globex, public_dns):
    client = api(users["admin"])
    response = client.post("/api/v1/webhooks/", {"url": "https://x.example/"}, format="json")
    assert response.status_code == 400 and "organization" in response.json()
    response = client.post(
        "/api/v1/webhooks/", {"url": "https://x.example/", "organization": globex.pk}, format="json"
    )
    assert response.status_code == 201 and response.json()["organization"] == globex.pk


def test_customer_escalation_is_sent_internal_ones_are_not(acme, make_ticket, users):
    endpoint = local_endpoint(acme, "http://127.0.0.1:9/a")
    ticket = make_ticket("acme.user", priority=1)  # P1: an internal registration escalation
    assert set(webhook_rows(endpoint).values_list("trigger", flat=True)) == {"ticket.created"}
    escalation.escalate_by_customer(ticket, users["acme.contact"], "Still down")
    assert webhook_rows(endpoint).filter(trigger="escalation.raised").count() == 1
    body = json.loads(transport.body_of(webhook_rows(endpoint).get(trigger="escalation.raised")))
    assert body["data"]["escalation"]["reason"] == "Still down"


def test_a_customer_escalations_acknowledgement_is_sent_once(acme, make_ticket, users):
    from escalation.acknowledge import acknowledge

    endpoint = local_endpoint(acme, "http://127.0.0.1:9/a")
    ticket = make_ticket("acme.user", priority=1)
    internal = ticket.escalations.get()  # the P1's registration escalation
    acknowledge(internal, users["agent"])
    assert not webhook_rows(endpoint).filter(trigger="escalation.acknowledged").exists()
    raised = escalation.escalate_by_customer(ticket, users["acme.contact"], "Still down")
    acknowledge(raised, users["admin"])
    acknowledge(raised, users["admin"])  # a second click changes nothing
    rows = webhook_rows(endpoint).filter(trigger="escalation.acknowledged")
    assert rows.count() == 1
    body = json.loads(transport.body_of(rows.get()))
    assert body["data"]["escalation"]["id"] == raised.pk
    assert body["data"]["ticket"]["number"] == ticket.number


def test_transitions_and_public_updates_are_webhook_events(acme, users, make_ticket):
    from tickets import services as ticket_services

    endpoint = local_endpoint(acme, "http://127.0.0.1:9/a")
    ticket = make_ticket("acme.user")
    ticket_services.take(ticket, users["agent"])
    ticket_services.add_update(ticket, users["agent"], "Investigating", visibility="internal")
    ticket_services.add_update(ticket, users["agent"], "We are on it")
    ticket_services.transition(ticket, users["agent"], "waiting_for_customer")
    triggers = list(webhook_rows(endpoint).order_by("pk").values_list("trigger", flat=True))
    # the internal note leaves no trace outside; the public update and the move do
    assert triggers == ["ticket.created", "ticket.updated", "ticket.transitioned"]
    moved = webhook_rows(endpoint).get(trigger="ticket.transitioned").context["data"]
    assert moved["previous_status"] == "planned_internal"
    assert moved["status"] == "waiting_for_customer"


def test_maintenance_announcements_reach_only_the_affected_organisations(acme, globex, users):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from freezegun import freeze_time

    from maintenance import services as maintenance

    mine = local_endpoint(acme, "http://127.0.0.1:9/a")
    theirs = local_endpoint(globex, "http://127.0.0.1:9/b")
    start = datetime(2026, 12, 8, 22, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
    with freeze_time("2026-11-25 10:00:00"):
        notice = maintenance.create_notice(
            users["agent"], kind="preventive", starts_at=start, ends_at=start + timedelta(hours=2),
            organizations=[acme], title="Core router firmware",
        )  # fmt: skip
        maintenance.post_status_update(notice, users["agent"], "cancelled", "Postponed")
    triggers = sorted(webhook_rows(mine).values_list("trigger", flat=True))
    assert triggers == ["maintenance.announced", "maintenance.updated"]
    assert (
        webhook_rows(mine).get(trigger="maintenance.announced").context["data"]["id"] == notice.pk
    )
    assert not webhook_rows(theirs).exists()


def test_webhook_page_add_test_rotate_remove(acme, globex, users, client):
    from django.urls import reverse

    client.force_login(users["acme.contact"])
    page = client.get(reverse("webhook-list"))
    assert page.status_code == 200
    refused = client.post(reverse("webhook-list"), {"url": "http://169.254.169.254/latest"})
    assert refused.status_code == 400 and not WebhookEndpoint.objects.exists()
    theirs = local_endpoint(globex, "http://127.0.0.1:9/theirs")
    mine = local_endpoint(acme, "http://127.0.0.1:9/mine")
    listing = client.get(reverse("webhook-list")).content.decode()
    assert mine.url in listing and theirs.url not in listing
    client.post(reverse("webhook-action", args=[mine.pk, "test"]))
    assert webhook_rows(mine).filter(trigger="webhook.test").count() == 1
    old_secret = mine.secret
    client.post(reverse("webhook-action", args=[mine.pk, "rotate"]))
    mine.refresh_from_db()
    assert mine.secret != old_secret and mine.previous_secret == old_secret
    assert client.post(reverse("webhook-action", args=[theirs.pk, "delete"])).status_code == 404
    client.post(reverse("webhook-action", args=[mine.pk, "delete"]))
    assert list(WebhookEndpoint.objects.all()) == [theirs]
    client.force_login(users["acme.user"])  # a customer user does not manage webhooks
    assert client.get(reverse("webhook-list")).status_code == 404
