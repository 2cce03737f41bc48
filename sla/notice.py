"""What the P1/P2 phone notice says now (issue 12 item 9, SPEC §2 reachability): the phone is
staffed in office hours; outside them a 24/7 contract has the on-call service, and an
office-hours contract promises a response by a due time counted from the next opening."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from tickets.models import Kind, Ticket

from . import engine
from .calendars import business_calendar
from .models import ServiceWindow
from .services import build_terms

URGENT = (1, 2)


def urgent_phone_notice(organization_id, now=None):
    """{"mode": "call" | "oncall" | "closed", "phone", "next_open", "response_due": {1: …}}
    for a customer of `organization_id` filing a P1/P2 incident at `now`."""
    now = now or timezone.now()
    contract, terms = build_terms(
        Ticket(organization_id=organization_id, reported_at=now, kind=Kind.INCIDENT)
    )
    if not terms:
        return {"mode": "call", "phone": settings.SERVICE_DESK_PHONE}
    office = business_calendar(terms["office_calendar"])
    if office.is_open(now):
        return {"mode": "call", "phone": settings.SERVICE_DESK_PHONE}
    if terms["service_window"] == ServiceWindow.ALWAYS:
        return {"mode": "oncall", "phone": settings.ONCALL_PHONE}
    due = {}
    for priority in URGENT:
        pterms = terms["priorities"].get(str(priority)) or {}
        spec = (pterms.get("targets") or {}).get("response")
        if spec is None:
            continue
        calendar = business_calendar(spec.get("calendar") or pterms["calendar"])
        seconds = engine.target_seconds(calendar, spec, now)
        due[priority] = timezone.localtime(calendar.add(now, timedelta(seconds=seconds)))
    return {
        "mode": "closed",
        "phone": settings.SERVICE_DESK_PHONE,
        "next_open": timezone.localtime(office.next_open(now)),
        "response_due": due,
        "response_due_p1": due.get(1),
        "response_due_p2": due.get(2),
    }
