"""The demo's time entries (issue 18 item 1): time on Acme's incidents and changes, within the
SLA and billable, and an incident whose time became billable afterwards (its reporter and the
authorised contact told once); the rates of 2025 and 2026, and Acme's last month closed
(issue 18 item 4); and Acme's prepaid hour bundle (item 3), which the billable small work draws
from."""

from datetime import timedelta

from django.utils import timezone

from billing import bundles, months
from billing import services as billing
from billing.models import Bundle, Category, ClosedMonth, TimeEntry, YearRate
from pim.models import Organization
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


RATES = {  # year: (hourly, bundle) in euros excluding VAT, VAT 21 %
    2025: ("95.00", "85.00"),
    2026: ("99.50", "89.00"),
}


def seed_billing(manager, agent, now):
    """The rates of 2025 and 2026 (and of last month's year, were it another), Acme's time of
    last month and that month closed by the manager (final; its entries frozen). Idempotent:
    returns how many rows were added."""
    added = 0
    last_month = months.month_of(timezone.localdate(now)) - timedelta(days=1)
    for year in sorted({*RATES, last_month.year}):
        hourly, bundle = RATES.get(year, RATES[2026])
        _rate, created = YearRate.objects.get_or_create(
            year=year, defaults={"hourly_rate": hourly, "bundle_rate": bundle, "vat_rate": 21}
        )
        added += created
    acme = Organization.objects.filter(slug="acme").first()
    if acme is None or ClosedMonth.objects.filter(organization=acme).exists():
        return added
    ticket = (
        Ticket.objects.filter(organization=acme, kind=Kind.INCIDENT)
        .order_by("reported_at", "pk")
        .first()
    )
    if ticket is not None:
        day = last_month.replace(day=min(12, last_month.day))
        for minutes, category, text in (
            (20, Category.INTAKE_ADMIN, "Intake en overleg met de klant."),
            (50, Category.CONSULTANCY, "Advies over de inrichting van het belplan."),
        ):
            billing.add_entry(
                ticket, agent,
                {"user": agent, "worked_on": day, "minutes": minutes, "description": text,
                 "category": category},
            )  # fmt: skip
            added += 1
    months.close_month(acme, months.month_of(last_month), manager, now=now)
    return added + 1


def seed_bundle(manager, contact, now):
    """A 50-hour bundle Acme bought a month ago (at this year's rates, entered when missing)
    and its contact's low-balance threshold of 40 hours; nothing when a bundle exists."""
    if Bundle.objects.exists():
        return None
    acme = Organization.objects.filter(slug="acme").first()
    if acme is None:
        return None
    bought = (now - timedelta(days=30)).date()
    hourly, rate = RATES.get(bought.year, RATES[2026])
    YearRate.objects.get_or_create(
        year=bought.year, defaults={"hourly_rate": hourly, "bundle_rate": rate, "vat_rate": 21}
    )
    bundle = bundles.purchase(
        acme, manager, hours=50, purchased_on=bought, note="Strippenkaart 50 uur", now=now
    )
    bundles.set_threshold(acme, contact, 40)
    return bundle
