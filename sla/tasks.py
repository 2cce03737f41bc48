"""Thin Celery wrappers around the SLA services."""

from celery import shared_task

from . import sweep as sweeps


@shared_task(acks_late=True, ignore_result=True, time_limit=300, soft_time_limit=270)
def sweep():
    """Beat runs this every minute. Idempotent: re-running (or running twice at once) finds
    nothing new, because evaluated tickets move on and SLA events and notifications are unique."""
    result = sweeps.sweep()
    return {"evaluated": result.evaluated, "events": len(result.events)}
