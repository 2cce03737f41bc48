"""Thin Celery wrappers around the SLA services."""

from celery import shared_task
from django_scopes import scopes_disabled

from . import majorchange, services
from . import monthly_reports as monthly_reports_service
from . import sweep as sweeps


@shared_task(acks_late=True, ignore_result=True, time_limit=300, soft_time_limit=270)
def sweep():
    """Beat runs this every minute. Idempotent: re-running (or running twice at once) finds
    nothing new, because evaluated tickets move on and SLA events and notifications are unique."""
    result = sweeps.sweep()
    return {"evaluated": result.evaluated, "events": len(result.events)}


@shared_task(acks_late=True, ignore_result=True, time_limit=3600, soft_time_limit=3500)
def recompute_open_tickets(calendar_ids=(), policy_ids=(), contract_ids=(), ticket_ids=()):
    """Recompute the clocks of the open tickets a correction touches: the admin queues this
    (the same code as `manage.py recompute_sla`). Idempotent: the clocks follow from the ledger."""
    scope = {
        "calendar_ids": list(calendar_ids),
        "policy_ids": list(policy_ids),
        "contract_ids": list(contract_ids),
        "ticket_ids": list(ticket_ids),
    }
    with scopes_disabled():  # a system job across all tenants
        return services.recompute_open(scope=scope)


@shared_task(acks_late=True, ignore_result=True, time_limit=600, soft_time_limit=570)
def sla_document_route():
    """Beat runs this hourly: the Major Change deadlines that passed are recorded, and the
    reminders before a deadline or before a version takes effect go out. Idempotent: each step
    is recorded once, each message has its own dedup key."""
    with scopes_disabled():
        return majorchange.run()


@shared_task(acks_late=True, ignore_result=True, time_limit=3600, soft_time_limit=3500)
def monthly_reports():
    """Beat runs this on weekday mornings: on the provider's first working day of a month (and
    later that month, for what a stopped beat missed) every organisation's SLA report of the
    month before is made and mailed, once; any other day it does nothing. Idempotent: a report
    row per organisation and month, locked while it is made and mailed, marked when mailed."""
    return len(monthly_reports_service.run())
