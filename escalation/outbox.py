"""The notification outbox (DESIGN §2 steps 4–5): write a row, enqueue it after commit, relay.

Every notification is a row written in the caller's transaction, with a unique dedup key
(ticket, trigger, level, recipient, channel), so running anything twice, late or concurrently
creates nothing twice. Delivery (`delivery.deliver`) is enqueued after commit; the relay
re-enqueues what a broker outage or a killed worker left behind, so nothing is lost.
"""

import logging
import random
import time
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from pim.celery import FAIL_FAST

from .models import Channel, Notification, NotificationStatus

log = logging.getLogger(__name__)

# Longer than the delivery task's hard time limit: a claim this old belongs to a dead worker.
STALE_CLAIM = timedelta(seconds=settings.NOTIFICATION_STALE_CLAIM_SECONDS)

# Channels with an outbound delivery (in-app rows are delivered on write).
DELIVERED_CHANNELS = [Channel.EMAIL, Channel.WEBHOOK]

# After the broker refused a message, skip enqueueing for a while: the relay sends the rows, and
# requests do not each wait for a connection timeout during an outage.
BROKER_BACKOFF_SECONDS = 30
_broker_down_until = 0.0


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def jittered_backoff(attempts: int) -> timedelta:
    """The backoff with "equal jitter": between half and all of it, so retries spread out."""
    full = backoff(attempts).total_seconds()
    return timedelta(seconds=full / 2 + random.uniform(0, full / 2))  # noqa: S311 - not crypto


def dedup_key(ticket, trigger: str, level: str, recipient, channel: str) -> str:
    ticket_part = f"t{ticket.pk}" if ticket is not None else "-"
    return f"{ticket_part}:{trigger}:{level or '-'}:u{recipient.pk}:{channel}"[:200]


def enqueue(notification_id: int, *, force: bool = False) -> bool:
    """Hand a notification to the broker; if the broker is down the relay sends it later."""
    global _broker_down_until
    from . import tasks  # deferred: tasks imports this module (the relay task)

    if not force and time.monotonic() < _broker_down_until:
        return False
    try:
        tasks.deliver.apply_async((notification_id,), **FAIL_FAST)
    except Exception as exc:  # noqa: BLE001 - the outbox row is safe; the relay retries
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        log.warning(
            "notification %s not enqueued (%s); the relay sends it",
            notification_id,
            exc.__class__.__name__,
        )
        return False
    _broker_down_until = 0.0
    return True


def write(key: str, **fields) -> tuple[Notification, bool]:
    """The one row writer: a notification once per dedup key, enqueued after commit unless it
    is in-app (delivered by existing). Returns (notification, created)."""
    notification, created = Notification.objects.get_or_create(dedup_key=key[:200], defaults=fields)
    if created and notification.channel != Channel.IN_APP:
        transaction.on_commit(partial(enqueue, notification.pk))
    return notification, created


def write_many(rows: list[dict]) -> list[int]:
    """Many rows at once, each once per dedup key, in one INSERT … ON CONFLICT on the dedup key
    whatever their number (the watchers of a ticket). `rows` are Notification fields with
    `dedup_key`. Returns the ids of all the rows (new or there already); every e-mail or webhook
    row is enqueued after commit: delivery claims a pending row once, so a row enqueued twice,
    or one sent already, is not sent again."""
    by_key = {}
    for row in rows:
        by_key.setdefault(row["dedup_key"][:200], row)
    if not by_key:
        return []
    written = Notification.objects.bulk_create(
        [Notification(**{**row, "dedup_key": key}) for key, row in by_key.items()],
        update_conflicts=True,
        unique_fields=["dedup_key"],
        update_fields=["dedup_key"],
    )
    for notification in written:
        if notification.channel != Channel.IN_APP:
            transaction.on_commit(partial(enqueue, notification.pk))
    return [n.pk for n in written]


def _fields(recipient, channel, *, ticket, trigger, level="", template, context=None, now=None):
    """The row of one notification for a person (None: no address for the channel)."""
    if channel == Channel.EMAIL and not recipient.email:
        return None
    now = now or timezone.now()
    in_app = channel == Channel.IN_APP
    return {
        "dedup_key": dedup_key(ticket, trigger, level, recipient, channel),
        "ticket": ticket,
        "escalation_id": (context or {}).get("escalation"),
        "recipient": recipient,
        "channel": channel,
        "trigger": trigger[:80],
        "level": level or "",
        "template": template,
        "context": context or {},
        "created_at": now,
        # In-app notifications are delivered by existing: the bell reads the table.
        "status": NotificationStatus.SENT if in_app else NotificationStatus.PENDING,
        "sent_at": now if in_app else None,
    }


def notify(recipient, channel, **kwargs):
    """One notification for a person (once per dedup key); returns (notification, created)."""
    fields = _fields(recipient, channel, **kwargs)
    if fields is None:
        return None, False
    return write(fields.pop("dedup_key"), **fields)


def notify_all(recipients, *, channels=(Channel.EMAIL, Channel.IN_APP), fresh=False, **kwargs):
    """`notify` for every recipient and channel; returns the rows created now.

    `fresh=True` (a ticket registered or an escalation raised in this transaction: its rows are
    new, except when a receiver runs twice) writes all rows in one INSERT … ON CONFLICT on the
    dedup key instead of a SELECT and a guarded INSERT each, still once per key; it returns
    every row, and enqueues each e-mail or webhook row after commit (a row enqueued twice is
    sent once: delivery claims it first)."""
    if fresh:
        rows = [_fields(user, channel, **kwargs) for user in recipients for channel in channels]
        written = Notification.objects.bulk_create(
            [Notification(**r) for r in rows if r],
            update_conflicts=True,
            unique_fields=["dedup_key"],
            update_fields=["dedup_key"],
        )
        for notification in written:
            if notification.channel != Channel.IN_APP:
                transaction.on_commit(partial(enqueue, notification.pk))
        return written
    created = []
    for user in recipients:
        for channel in channels:
            notification, new = notify(user, channel, **kwargs)
            if new:
                created.append(notification)
    return created


def mark_read(user, notification_ids=None, now=None, only=None) -> int:
    """Mark the user's in-app notifications (all, or the given ids; `only`: those matching this
    Q, e.g. one kind of the notification centre's filter) read."""
    qs = Notification.objects.filter(recipient=user, channel=Channel.IN_APP, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=notification_ids)
    if only is not None:
        qs = qs.filter(only)
    return qs.update(read_at=now or timezone.now())


# --- the relay ------------------------------------------------------------------------------


def unsent(now=None, limit: int = 500) -> list[int]:
    """Rows the relay hands out again: pending past the relay delay (and their backoff), or
    claimed by a worker that died."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.NOTIFICATION_RELAY_AFTER_SECONDS)
    ready = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    qs = Notification.objects.filter(
        (Q(status=NotificationStatus.PENDING, created_at__lte=cutoff) & ready)
        | Q(status=NotificationStatus.SENDING, claimed_at__lt=now - STALE_CLAIM),
        channel__in=DELIVERED_CHANNELS,
    )
    return list(qs.order_by("created_at").values_list("pk", flat=True)[:limit])


def relay(now=None, limit: int = 500) -> list[int]:
    """Beat runs this every minute: re-enqueue what the broker lost."""
    ids = unsent(now, limit)
    for pk in ids:
        enqueue(pk, force=True)
    return ids
