"""Availability per service and month (SPEC §9): the rows for the API, the page (and later the
dashboard and the monthly report) gathered for all services at once in a bounded number of
queries, then handed to the pure arithmetic of `sla.availability`.

- Services: the ones the caller may see, with their organisation and `ServiceLevel` (kind,
  target, window) in one query.
- Windows: a service's own calendar, else its kind's default (office hours for Service &
  Support, 24/7 for the rest), taken from the SLA policy of the organisation's contract valid
  at the month's start (else the default policy, else the calendars of SPEC §2): one query for
  the contracts, the calendars from `sla.calendars` (built once per process and version).
- Outages: the incidents that mark an outage of one of the services (`Outage`), from the
  agent's start (else registration) to the agent's end (else the restore clock's stop, else the
  workaround or resolution, else now): one query. Incidents marked "SLA not applicable" are
  outside the figures, as in compliance (SPEC §4).
- Maintenance: the maintenance app (above sla) registers its source of windows
  (`register_maintenance`): announced and emergency notices at their actual times where
  recorded, else the planned ones; cancelled ones never.

The month is a calendar month in TIME_ZONE; the current month counts until now, a future one
has nothing scheduled. The year to date runs from 1 January to the same end.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from pim.models import Service
from pim.months import month_start, next_month
from pim.scoping import organization_filter, scopes_disabled
from tickets.models import Kind

from . import services as sla_services
from .availability import availability
from .businesstime import BusinessCalendar
from .calendars import business_calendar
from .models import (
    OFFICE_HOURS_KINDS,
    Clock,
    Contract,
    Outage,
    ServiceKind,
    Target,
    target_percent,
)

ZONE = sla_services.REPORT_ZONE
# the end of an outage not restored yet, in SQL (later than any period): it lasts until now
UNENDED = datetime(9999, 12, 31, tzinfo=UTC)

# {(organization id, service id): [(start, end), ...]} for [start, end) and these organisations
MaintenanceSource = Callable[[datetime, datetime, list[int]], dict]
_maintenance_source: MaintenanceSource | None = None


def register_maintenance(source: MaintenanceSource) -> None:
    """`source(start, end, organizations)` answers the maintenance windows per (organisation,
    service) (the maintenance app registers its `maintenance_intervals`)."""
    global _maintenance_source
    _maintenance_source = source


@dataclass(frozen=True)
class ServiceAvailability:
    service_id: int
    name: str
    organization_id: int
    organization_name: str
    kind: str
    kind_label: str
    month: date
    scheduled: timedelta
    downtime: timedelta
    outages: int  # the incidents whose outage reaches into the month (`outage_q`)
    availability: float
    target: float
    met: bool
    year_to_date: float
    year_scheduled: timedelta
    year_downtime: timedelta


def visible_services(user, organization_id=None, service_id=None):
    """The services `user` may see (the tenant choke point), with what the figures need."""
    qs = Service.objects.filter(organization_filter(user))
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    if service_id is not None:
        qs = qs.filter(pk=service_id)
    return qs.select_related("organization", "level").order_by("organization__name", "name", "pk")


def counted_outages(start, end):
    """The outages that count in the figures of [start, end): of incidents the SLA applies to,
    with a service, from the agent's start (else registration) to the agent's end (else the
    restore clock's stop, else the workaround or resolution, else `UNENDED`), reaching into
    [start, end), in the active scope; callers narrow them to the services or tickets the viewer
    may see."""
    with scopes_disabled():  # the clock of the outage's own ticket, which the scope has chosen
        restored = (
            Clock.objects.filter(ticket=OuterRef("ticket_id"), target=Target.RESTORE)
            .order_by()  # one row per (ticket, target); the model's order would join the tickets
            .values("stopped_at")[:1]
        )
    return (
        Outage.objects.filter(
            ticket__service_id__isnull=False,
            ticket__kind=Kind.INCIDENT,
            ticket__sla_not_applicable=False,
        )
        .annotate(
            effective_start=Coalesce("starts_at", "ticket__reported_at"),
            effective_end=Coalesce(
                "ends_at",
                Subquery(restored),
                "ticket__workaround_at",
                "ticket__resolved_at",
                Value(UNENDED),
            ),
        )
        .filter(effective_start__lt=end, effective_end__gt=start)
        .order_by()
    )


def outage_intervals(service_ids, start, end, now):
    """{service id: [(start, end), ...]} of the outages reaching into [start, end).

    Driven by the outages (a few per service and month): each one's ticket by its key and its
    restore clock by `one_clock_per_target`, whose end is computed once per outage for the
    test and once per outage found (an outage not restored yet ends at `UNENDED` there)."""
    rows = counted_outages(start, end).filter(ticket__service_id__in=service_ids)
    found = defaultdict(list)
    for service_id, a, b in rows.values_list(
        "ticket__service_id", "effective_start", "effective_end"
    ):
        found[service_id].append((a, now if b == UNENDED else b))
    return found


def month_span(month: date, now) -> tuple[datetime, datetime]:
    """[start, end) of `month` as the figures count it: the current month until now (a future
    month is empty: its end lies before its start)."""
    return month_start(month), min(month_start(next_month(month)), now)


def outage_q(month: date, now=None) -> Q:
    """Tickets whose outage counts in `month` (the figures' `outages` per service): a
    dashboard's count drills down to exactly these, with the service's own filter."""
    start, end = month_span(month, now or timezone.now())
    if end <= start:
        return Q(pk__in=[])
    return Q(pk__in=counted_outages(start, end).values("ticket_id"))


def _policy_calendars(organization_ids, day):
    """{organization id: (office calendar id, 24/7 calendar id)} of the contracts valid on
    `day`, and the default policy's pair (or None)."""
    rows = (
        Contract.objects.filter(organization_id__in=organization_ids, valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .order_by("organization_id", "-valid_from", "-pk")
        .values_list("organization_id", "policy__office_calendar_id", "policy__always_calendar_id")
    )
    pairs = {}
    for org_id, office, always in rows:
        pairs.setdefault(org_id, (office, always))
    default = sla_services.default_policy()
    fallback = (default.office_calendar_id, default.always_calendar_id) if default else None
    return pairs, fallback


_BUILT_IN = {
    "office": BusinessCalendar.office_hours(tz=ZONE),
    "always": BusinessCalendar.always(tz=ZONE),
}


def window_of(service, pairs, fallback, calendars):
    """The service's window as a BusinessCalendar (`calendars`: a memo by calendar id)."""
    level = getattr(service, "level", None)
    kind = level.kind if level else ServiceKind.SERVICE_SUPPORT
    pk = level.window_id if level else None
    if pk is None:
        pair = pairs.get(service.organization_id) or fallback
        office = kind in OFFICE_HOURS_KINDS
        if pair is None:
            return _BUILT_IN["office" if office else "always"]
        pk = pair[0] if office else pair[1]
    if pk not in calendars:
        calendars[pk] = business_calendar(pk)
    return calendars[pk]


def figures(services, month: date, now=None) -> list[ServiceAvailability]:
    """Availability of `services` (a queryset from `visible_services`) in `month`, with the
    year to date: one row per service, in the queryset's order."""
    now = now or timezone.now()
    services = list(services)
    start, end = month_span(month, now)
    year_start = month_start(date(month.year, 1, 1))
    if not services:
        return []
    ids = [s.pk for s in services]
    org_ids = sorted({s.organization_id for s in services})
    outages = outage_intervals(ids, year_start, end, now) if end > year_start else {}
    maintenance = {}
    if _maintenance_source is not None and end > year_start:
        maintenance = _maintenance_source(year_start, end, org_ids)
    pairs, fallback = _policy_calendars(org_ids, month)
    calendars = {}
    rows = []
    for service in services:
        level = getattr(service, "level", None)
        kind = ServiceKind(level.kind) if level else ServiceKind.SERVICE_SUPPORT
        window = window_of(service, pairs, fallback, calendars)
        down = outages.get(service.pk, [])
        held = maintenance.get((service.organization_id, service.pk), [])
        this_month = availability(window, start, end, down, held)
        year = availability(window, year_start, end, down, held)
        target = float(target_percent(kind, level.target if level else None) / 100)
        rows.append(
            ServiceAvailability(
                service_id=service.pk,
                name=service.name,
                organization_id=service.organization_id,
                organization_name=service.organization.name,
                kind=kind.value,
                kind_label=str(kind.label),
                month=month.replace(day=1),
                scheduled=this_month.scheduled,
                downtime=this_month.downtime,
                outages=sum(1 for a, b in down if a < end and b > start),
                availability=this_month.ratio,
                target=target,
                met=year.ratio >= target,
                year_to_date=year.ratio,
                year_scheduled=year.scheduled,
                year_downtime=year.downtime,
            )
        )
    return rows
