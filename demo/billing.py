"""The demo's time entries (issue 18 item 1): time on Acme's incidents and changes, within the
SLA and billable, and an incident whose time became billable afterwards (its reporter and the
authorised contact told once)."""

from datetime import timedelta

from billing import services as billing
from billing.models import Category, TimeEntry
from tickets.models import Kind, Ticket


def seed_time(agent, now):
    """Time on the first three Acme incidents and the first Acme change; returns how many
    entries were written (none when there are entries already)."""
    if TimeEntry.objects.exists():
        return 0
    acme = Ticket.objects.filter(organization__slug="acme").order_by("reported_at", "pk")
    incidents = list(acme.filter(kind=Kind.INCIDENT)[:3])
    change = acme.filter(kind=Kind.CHANGE).first()
    day = (now - timedelta(days=1)).date()
    rows = []
    for ticket in incidents:
        rows.append((ticket, 15, Category.INTAKE_ADMIN, "Intake en eerste analyse."))
    if incidents:
        rows.append((incidents[0], 45, Category.INCIDENT_PROVIDER, "Oorzaak gezocht en hersteld."))
    if change is not None:
        rows.append((change, 120, Category.CHANGE, "Wijziging uitgevoerd en getest."))
    written = [
        billing.add_entry(
            ticket, agent,
            {"user": agent, "worked_on": day, "minutes": minutes, "description": text,
             "category": category},
        )
        for ticket, minutes, category, text in rows
    ]  # fmt: skip
    if len(incidents) > 1:
        # found out later: the second incident was caused by the telecom supplier
        entry = next(e for e in written if e.ticket_id == incidents[1].pk)
        billing.edit_entry(entry, agent, {"category": Category.INCIDENT_THIRD_PARTY})
    return len(written)
