"""One delivery attempt of a claimed webhook row: POST, log, and the row's next state."""

import json
import logging
import time

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Notification, NotificationStatus, WebhookDelivery
from ..outbox import jittered_backoff
from .addresses import validate_url
from .signing import headers_for, message_id

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5


def body_of(notification):
    payload = {
        "type": notification.trigger,
        "timestamp": notification.created_at.isoformat(),
        "data": notification.context.get("data", {}),
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def post(url, body, headers):
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
    type(endpoint).objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_reason=reason[:200]
    )
    Notification.objects.filter(
        endpoint=endpoint, status__in=[NotificationStatus.PENDING, NotificationStatus.SENDING]
    ).update(status=NotificationStatus.FAILED, last_error=reason[:300], claimed_at=None)


def send(notification, now=None):
    """One attempt for a claimed webhook row; records a WebhookDelivery and the row's state.
    True when the endpoint accepted the message (2xx)."""
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
        status_code, error = post(endpoint.url, body, headers)
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
