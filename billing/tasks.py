"""Thin Celery wrapper: beat recalculates the hour bundles whose 12 months are over, daily
(billing/bundles.py; idempotent: a bundle is looked at once)."""

from celery import shared_task

from . import bundles


@shared_task(acks_late=True, ignore_result=True, time_limit=600, soft_time_limit=540)
def recalculate_bundles():
    return {"bundles": len(bundles.recalculate_due())}
