"""The monthly SLA report of an organisation (issue 17 item 3): the figures of one month.

`month_figures(organization, month)` gathers, for one organisation and one calendar month in
TIME_ZONE (Europe/Amsterdam), in a constant number of queries:

- compliance per priority and target: `sla.queries.organization_compliance`, the aggregation
  behind `/sla/`, `/api/v1/sla/compliance/` and the dashboard (one set of queries), for the
  tickets registered in the month;
- the average restore time per priority against its average goal (SPEC §4), from those rows;
- the breaches: the counted clocks of the month's tickets whose live state is breached (the same
  test as the compliance's `breached`), with their ticket and the reason in words (the target,
  its due time and the business time used against the target), and what the ledger recorded that
  bears on it (intervals without access, priority changes); the tickets left out of the figures
  as "SLA not applicable" with their reason;
- availability per service against its yearly target: `sla.availability_queries.figures`;
- the maintenance done in the month, the open problems affecting the organisation and the
  escalations of the month: the apps above sla register their part (`register_source`), as the
  maintenance app registers its windows for availability.

`sla.monthly_reports` renders the figures as PDF and CSV, keeps them (`MonthlyReport`) and mails
them once; the Celery task runs it on the provider's first working day of the month.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from pim.models import Service
from pim.months import month_bounds, month_of
from pim.scoping import organization_filter
from tickets.models import Ticket

from . import availability_queries
from .businesstime import BusinessCalendar
from .calendars import business_calendar
from .models import Clock, ClockEvent, MonthlyReport, Target
from .queries import TARGET_ORDER, live_used, organization_compliance, state_q
from .services import REPORT_ZONE, default_policy


@dataclass(frozen=True)
class RestoreAverage:
    priority: int
    count: int  # restored incidents the average is over
    average_minutes: int | None
    goal_minutes: int | None

    @property
    def met(self) -> bool | None:
        if self.average_minutes is None or self.goal_minutes is None:
            return None
        return self.average_minutes <= self.goal_minutes


@dataclass(frozen=True)
class Breach:
    ticket_id: int
    number: str
    title: str
    priority: int
    target: str
    target_label: str
    due_at: datetime | None
    used_seconds: int
    target_seconds: int
    reason: str  # in words, in the active language
    notes: tuple[str, ...] = ()  # what the ledger recorded that bears on it


@dataclass(frozen=True)
class Excluded:
    number: str
    title: str
    priority: int
    reason: str


@dataclass(frozen=True)
class MaintenanceDone:
    title: str
    kind_label: str
    status_label: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class OpenProblem:
    """A problem the provider still works on that has incidents of the organisation. Problems
    are provider-internal: the report names it by number only, with the organisation's own
    incidents and the known errors published to it."""

    number: str
    priority: int
    age_days: int
    incidents: tuple[str, ...]
    known_errors: tuple[str, ...]


@dataclass(frozen=True)
class EscalationRow:
    """An escalation the organisation raised in the month (the provider's internal matrix
    stays internal, as on the dashboard)."""

    number: str
    level_label: str
    raised_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    reason: str


@dataclass
class MonthFigures:
    organization_id: int
    organization_name: str
    month: date
    start: datetime
    end: datetime
    at: datetime
    compliance: list = field(default_factory=list)  # rows of `organization_compliance`
    restore: list = field(default_factory=list)  # [RestoreAverage] per priority
    breaches: list = field(default_factory=list)  # [Breach]
    excluded: list = field(default_factory=list)  # [Excluded]
    availability: list = field(default_factory=list)  # [availability_queries.ServiceAvailability]
    maintenance: list = field(default_factory=list)  # [MaintenanceDone]
    problems: list = field(default_factory=list)  # [OpenProblem]
    escalations: list = field(default_factory=list)  # [EscalationRow]

    @property
    def breach_count(self) -> int:
        return len(self.breaches)


# --- the parts of the apps above sla -----------------------------------------------------------

# source(organization, start, end, now) -> the rows of its part, in the active language
Source = Callable[[object, datetime, datetime, datetime], list]
SOURCES = ("maintenance", "problems", "escalations")
_sources: dict[str, Source] = {}


def register_source(name: str, source: Source) -> None:
    """The maintenance, problems and escalation apps register their part of the report
    (`SOURCES`); each answers in a constant number of queries."""
    if name not in SOURCES:
        raise ValueError(f"unknown report part {name!r}")
    _sources[name] = source


# --- the figures ------------------------------------------------------------------------------


def month_figures(organization, month: date, now=None) -> MonthFigures:
    """The report's figures of `organization` in `month` (any day of it), as of `now`. The
    caller decides who may read them; texts are in the active language."""
    now = now or timezone.now()
    month = month_of(month)
    start, end = month_bounds(month)
    figures = MonthFigures(
        organization_id=organization.pk,
        organization_name=organization.name,
        month=month,
        start=start,
        end=end,
        at=now,
    )
    figures.compliance = [
        row
        for row in organization_compliance(organization.pk, since=start, until=end, now=now)
        if row["priority"] is not None
    ]
    figures.restore = restore_averages(figures.compliance)
    figures.breaches = breaches(organization.pk, month, now)
    figures.excluded = excluded(organization.pk, month)
    services = Service.objects.filter(organization=organization)
    figures.availability = availability_queries.figures(
        services.select_related("organization", "level").order_by("name", "pk"), month, now
    )
    for name in SOURCES:
        source = _sources.get(name)
        setattr(figures, name, source(organization, start, end, now) if source else [])
    return figures


def restore_averages(compliance_rows) -> list[RestoreAverage]:
    """Per priority: the average restore time of the restored incidents against the average
    goal (SPEC §4), from the compliance rows (the same figures)."""
    return [
        RestoreAverage(
            priority=r["priority"],
            count=r["count"],
            average_minutes=r["average_restore_minutes"],
            goal_minutes=r["average_goal_minutes"],
        )
        for r in sorted(compliance_rows, key=lambda r: r["priority"])
        if r["target"] == Target.RESTORE
    ]


def duration_text(seconds) -> str:
    """Business time in words: "2 h 05 min"."""
    minutes = int(seconds or 0) // 60
    return _("%(hours)s h %(minutes)02d min") % {"hours": minutes // 60, "minutes": minutes % 60}


def breach_reason(target_label, due_at, used_seconds, target_seconds) -> str:
    params = {
        "target": target_label,
        "due": timezone.localtime(due_at, REPORT_ZONE).strftime("%Y-%m-%d %H:%M") if due_at else "",
        "used": duration_text(used_seconds),
        "allowed": duration_text(target_seconds),
    }
    if due_at is None:
        return _("%(target)s: %(used)s used of %(allowed)s") % params
    return _("%(target)s due %(due)s: %(used)s used of %(allowed)s") % params


def breaches(organization_id, month: date, now) -> list[Breach]:
    """The counted clocks of the month's tickets that are breached as of `now`: exactly the
    clocks behind the compliance's `breached` counts. Two queries."""
    clocks = list(
        Clock.objects.filter(organization_id=organization_id, month=month, counted=True)
        .filter(state_q("breached", now))
        .select_related("ticket")
        .order_by("priority", "ticket__reported_at", "ticket_id", "pk")
    )
    notes = ledger_notes({c.ticket_id for c in clocks})
    rows = []
    for clock in sorted(
        clocks,
        key=lambda c: (c.priority, c.ticket.reported_at, c.ticket_id, TARGET_ORDER[c.target]),
    ):
        used = _used(clock, now)
        label = str(Target(clock.target).label)
        rows.append(
            Breach(
                ticket_id=clock.ticket_id,
                number=clock.ticket.number,
                title=clock.ticket.title,
                priority=clock.priority,
                target=clock.target,
                target_label=label,
                due_at=clock.due_at,
                used_seconds=used,
                target_seconds=clock.target_seconds,
                reason=breach_reason(label, clock.due_at, used, clock.target_seconds),
                notes=tuple(notes.get(clock.ticket_id, ())),
            )
        )
    return rows


def _used(clock, now):
    """The business seconds a clock has used by `now` (a running one moves on)."""
    return live_used(clock, now, business_calendar)


def ledger_notes(ticket_ids) -> dict[int, list[str]]:
    """What the clock ledger recorded that explains a breach: intervals without access to the
    premises (they paused the clocks) and priority changes (they moved the due times). One
    query."""
    if not ticket_ids:
        return {}
    events = ClockEvent.objects.filter(
        ticket_id__in=ticket_ids,
        kind__in=[ClockEvent.Kind.NO_ACCESS, ClockEvent.Kind.PRIORITY],
    ).order_by("at", "pk")
    found = defaultdict(list)
    for event in events:
        at = timezone.localtime(event.at, REPORT_ZONE).strftime("%Y-%m-%d %H:%M")
        if event.kind == ClockEvent.Kind.NO_ACCESS:
            until = (
                timezone.localtime(event.until, REPORT_ZONE).strftime("%Y-%m-%d %H:%M")
                if event.until
                else ""
            )
            found[event.ticket_id].append(
                _("no access to the premises %(start)s – %(end)s (not counted)")
                % {"start": at, "end": until}
            )
        else:
            priority = (event.data or {}).get("priority")
            found[event.ticket_id].append(
                _("priority changed to P%(priority)s on %(at)s")
                % {"priority": priority or "?", "at": at}
            )
    return found


def excluded(organization_id, month: date) -> list[Excluded]:
    """The month's tickets left out of the figures as "SLA not applicable", with the reason.
    One query."""
    start, end = month_bounds(month)
    rows = (
        Ticket.objects.filter(
            organization_id=organization_id,
            sla_not_applicable=True,
            reported_at__gte=start,
            reported_at__lt=end,
        )
        .order_by("reported_at", "pk")
        .values_list("number", "title", "priority", "sla_not_applicable_reason")
    )
    return [Excluded(*row) for row in rows]


# --- the provider's working days -----------------------------------------------------------------


def provider_calendar() -> BusinessCalendar:
    """The provider's business calendar: the office calendar of the default SLA policy (Dutch
    public holidays, with the admin's extra closed and open dates), else the built-in office
    hours."""
    policy = default_policy()
    if policy is not None and policy.office_calendar_id:
        return business_calendar(policy.office_calendar_id)
    return BusinessCalendar.office_hours(tz=REPORT_ZONE)


def first_working_day(day: date, calendar=None) -> date:
    """The first working day of `day`'s month on the provider's calendar."""
    calendar = calendar or provider_calendar()
    start, _end = month_bounds(day)
    return timezone.localtime(calendar.next_open(start), REPORT_ZONE).date()


def previous_month(day: date) -> date:
    return month_of(month_of(day) - timedelta(days=1))


def reports_visible_to(user):
    """The monthly reports `user` may read: provider staff all, an authorised contact their
    organisation's, anybody else none (the tenant choke point for reports)."""
    if not (user.is_authenticated and (user.is_provider_staff or user.is_authorised_contact)):
        return MonthlyReport.objects.none()
    return MonthlyReport.objects.filter(organization_filter(user))
