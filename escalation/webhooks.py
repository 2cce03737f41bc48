"""Outgoing webhooks after the Standard Webhooks specification (https://www.standardwebhooks.com).

Each message is an outbox row (channel "webhook", one per endpoint and event) delivered by
`delivery.deliver()`. The message carries `webhook-id` (stable over retries), `webhook-timestamp`
(unix seconds of the attempt) and `webhook-signature`: `v1,<base64 HMAC-SHA256>` over
`{id}.{timestamp}.{body}` keyed with the base64-decoded part of the endpoint's `whsec_` secret.
During a secret rotation (24 hours) both signatures are sent, space separated.

Addresses are checked against SSRF twice: when an endpoint is saved and again before each send
(the name may resolve elsewhere by then), unless an admin allowed private addresses.
"""

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
ROTATION_OVERLAP = timedelta(hours=24)
TIMEOUT_SECONDS = 5
TOLERANCE_SECONDS = 300
USER_AGENT = "PIM-Webhooks/1"


# --- signing --------------------------------------------------------------------------------


def _key(secret):
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret, msg_id, timestamp, body):
    """`v1,<signature>` of one message with one secret."""
    if isinstance(body, bytes):
        body = body.decode()
    content = f"{msg_id}.{int(timestamp)}.{body}".encode()
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def message_id(notification):
    """The `webhook-id`: derived from the outbox row's dedup key, the same on every retry."""
    return "msg_" + hashlib.sha256(notification.dedup_key.encode()).hexdigest()[:24]


def secrets_for(endpoint, now=None):
    """The secrets to sign with: the current one, and the previous one during a rotation."""
    now = now or timezone.now()
    result = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.rotated_at
        and now - endpoint.rotated_at < ROTATION_OVERLAP
    ):
        result.append(endpoint.previous_secret)
    return result


def headers_for(endpoint, msg_id, timestamp, body, now=None):
    signatures = " ".join(sign(s, msg_id, timestamp, body) for s in secrets_for(endpoint, now))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class VerificationError(Exception):
    pass


def verify(secret, headers, body, tolerance=TOLERANCE_SECONDS, now=None):
    """The receiver's check: a fresh timestamp and one matching `v1` signature. Returns the
    decoded payload; raises VerificationError otherwise."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id = lower["webhook-id"]
        timestamp = int(lower["webhook-timestamp"])
        signatures = lower["webhook-signature"]
    except (KeyError, ValueError) as exc:
        raise VerificationError("missing or malformed webhook headers") from exc
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise VerificationError("timestamp outside the tolerance")
    expected = sign(secret, msg_id, timestamp, body).encode()
    for candidate in signatures.split():
        version, _sep, _value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(candidate.encode(), expected):
            return json.loads(body)
    raise VerificationError("no matching signature")


# --- SSRF guard -----------------------------------------------------------------------------


def _refusal(address):
    """Why an address may not be called, or None."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    checks = [
        ("is_loopback", _("loopback")),
        ("is_link_local", _("link-local")),
        ("is_unspecified", _("unspecified")),
        ("is_multicast", _("multicast")),
        ("is_reserved", _("reserved")),
        ("is_private", _("private")),
    ]
    for attr, label in checks:
        if getattr(ip, attr):
            return label
    return None if ip.is_global else _("non-public")


def resolve(host, port):
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def validate_url(url, *, allow_private=False):
    """Refuse non-http(s) URLs and, unless allowed, hosts resolving to internal addresses."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(_("Only http(s) URLs with a host name can receive webhooks."))
    if parts.username or parts.password:
        raise ValidationError(_("Webhook URLs may not carry credentials."))
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = resolve(parts.hostname, port)
    except (OSError, ValueError, UnicodeError) as exc:
        raise ValidationError(
            _("The host %(host)s does not resolve.") % {"host": parts.hostname}
        ) from exc
    for address in addresses:
        label = _refusal(address.split("%")[0])
        if label:
            raise ValidationError(
                _(
                    "Refused: %(host)s resolves to %(address)s, a %(rule)s address. Webhooks "
                    "are only sent to public addresses."
                )
                % {"host": parts.hostname, "address": address, "rule": label}
            )


# --- payloads and sending -------------------------------------------------------------------


def ticket_data(ticket):
    """What a webhook says about a ticket: only the ticket's own organisation's fields."""
    return {
        "ticket": {
            "id": ticket.pk,
            "number": ticket.number,
            "title": ticket.title,
            "kind": ticket.kind,
            "priority": ticket.priority,
            "status": ticket.status,
            "organization": ticket.organization.slug,
        }
    }


def body_of(notification):
    payload = {
        "type": notification.trigger,
        "timestamp": notification.created_at.isoformat(),
        "data": notification.context.get("data", {}),
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def _post(url, body, headers):
    """(status code, error text)."""
    try:
        response = requests.post(
            url,
            data=body.encode(),
            headers=headers,
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return None, f"{exc.__class__.__name__}: {exc}"[:300]
    response.close()
    return response.status_code, ""


def disable(endpoint, reason):
    from .models import Notification, NotificationStatus

    type(endpoint).objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_reason=reason[:200]
    )
    Notification.objects.filter(
        endpoint=endpoint, status__in=[NotificationStatus.PENDING, NotificationStatus.SENDING]
    ).update(status=NotificationStatus.FAILED, last_error=reason[:300], claimed_at=None)


def send(notification, now=None):
    """One attempt for a claimed webhook row; records a WebhookDelivery and the row's state.
    True when the endpoint accepted the message (2xx)."""
    from .delivery import jittered_backoff
    from .models import Notification, NotificationStatus, WebhookDelivery

    now = now or timezone.now()
    endpoint = notification.endpoint
    claimed = Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING)
    if endpoint is None or not endpoint.is_active:
        claimed.update(
            status=NotificationStatus.FAILED, last_error="endpoint disabled", claimed_at=None
        )
        return False

    status_code, error = None, ""
    started = time.monotonic()
    try:
        validate_url(endpoint.url, allow_private=endpoint.allow_private)  # DNS rebinding
    except ValidationError as exc:
        error = " ".join(exc.messages)[:300]
    else:
        body = body_of(notification)
        timestamp = int(time.time())
        headers = headers_for(endpoint, message_id(notification), timestamp, body)
        status_code, error = _post(endpoint.url, body, headers)
        if status_code is not None and not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    duration = int((time.monotonic() - started) * 1000)
    WebhookDelivery.objects.create(
        notification=notification,
        attempt=notification.attempts,
        status_code=status_code,
        error=error,
        duration_ms=duration,
        at=now,
    )
    if status_code is not None and 200 <= status_code < 300:
        claimed.update(
            status=NotificationStatus.SENT, sent_at=timezone.now(), claimed_at=None, last_error=""
        )
        return True
    if status_code == 410:
        disable(endpoint, _("The endpoint answered 410 Gone on %(at)s.") % {"at": now.isoformat()})
        return False
    failed = notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
    claimed.update(
        status=NotificationStatus.FAILED if failed else NotificationStatus.PENDING,
        last_error=error,
        next_attempt_at=now + jittered_backoff(notification.attempts),
        claimed_at=None,
    )
    log.warning(
        "webhook %s to endpoint %s failed (attempt %s): %s",
        notification.pk,
        endpoint.pk,
        notification.attempts,
        error,
    )
    return False
