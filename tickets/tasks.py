"""Thin Celery wrappers: the background exports of the ticket lists (tickets/export_jobs.py),
beat's relay that re-sends the ones whose message got lost, and its daily removal of the exports
past their 7 days."""

from celery import shared_task

from . import export_jobs


@shared_task(acks_late=True, ignore_result=True, time_limit=3600, soft_time_limit=3500)
def write_export(export_id):
    """Idempotent: an export is claimed once; a worker that died leaves it to the relay."""
    export = export_jobs.run(export_id)
    return {"export": export_id, "status": export.status if export else None}


@shared_task(acks_late=True, ignore_result=True, time_limit=120, soft_time_limit=100)
def relay_exports():
    """Beat runs this every minute: exports whose message was lost or whose worker died are
    sent again, a bounded number of times (two relays at once send each once)."""
    done = export_jobs.relay()
    return {"sent": len(done["sent"]), "failed": len(done["failed"])}


@shared_task(acks_late=True, ignore_result=True, time_limit=600, soft_time_limit=540)
def delete_expired_exports():
    return {"exports": export_jobs.delete_expired()}
