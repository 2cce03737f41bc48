"""Thin Celery wrappers: the background exports of the ticket lists (tickets/exports.py), and
beat's daily removal of the exports past their 7 days."""

from celery import shared_task

from . import exports


@shared_task(acks_late=True, ignore_result=True, time_limit=3600, soft_time_limit=3500)
def write_export(export_id):
    """Idempotent: an export is claimed once (a worker that died leaves it to a later run)."""
    export = exports.run(export_id)
    return {"export": export_id, "status": export.status if export else None}


@shared_task(acks_late=True, ignore_result=True, time_limit=600, soft_time_limit=540)
def delete_expired_exports():
    return {"exports": exports.delete_expired()}
