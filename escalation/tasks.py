"""Thin Celery wrappers: delivery of one outbox row, and the relay."""

from celery import shared_task

from . import delivery, outbox


@shared_task(acks_late=True, ignore_result=True, time_limit=120, soft_time_limit=100)
def deliver(notification_id):
    """Idempotent: the row is claimed (pending → sending) before anything is sent."""
    return delivery.deliver(notification_id)


@shared_task(acks_late=True, ignore_result=True, time_limit=120, soft_time_limit=100)
def relay():
    """Beat runs this every minute: re-enqueue rows whose delivery task got lost."""
    return len(outbox.relay())
