"""Signing and verifying webhook messages (Standard Webhooks)."""

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

from django.utils import timezone

SECRET_PREFIX = "whsec_"
ROTATION_OVERLAP = timedelta(hours=24)
TOLERANCE_SECONDS = 300
USER_AGENT = "PIM-Webhooks/1"


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
