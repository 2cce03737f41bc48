"""Thin Celery wrapper: beat runs the retention once a day (manage.py anonymise_personal_data
does the same by hand)."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True, time_limit=3600, soft_time_limit=3500)
def anonymise_expired():
    """Idempotent: anonymised tickets are recorded and never done twice."""
    numbers, messages = services.anonymise_expired(via="beat")
    return {"tickets": len(numbers), "inbound_messages": messages}
