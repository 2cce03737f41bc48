"""Problem management's manager views (SPEC §7: "Periodic report of open problems; improvement
proposals from incident trend analysis"; seed §6).

- `open_problems()`: every open problem with its age, owner, linked incidents and organisations,
  known errors and the stage of their fix, in a constant number of queries. The page
  `/problems/report/` shows it; `tasks.mail_open_problem_report` mails it to the provider's
  managers once a month.
- `incident_trends()`: incidents per month (Europe/Amsterdam) with their top services and top
  causes, aggregated in the database. The page `/problems/trends/` shows it, and raises a problem
  from a service's incidents of a month in one click.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Prefetch
from django.db.models.functions import Lower, Trim, TruncMonth
from django.utils import timezone

from pim.months import month_bounds, month_start, next_month
from sla import monthly
from tickets.models import INCIDENT_PRIORITIES, OPEN_STATUSES, Kind, Priority, Ticket

from .models import KnownError, Problem, ProblemIncident

TOP = 5  # services and causes shown per month
TREND_MONTHS = 12
RAISE_MAX = 50  # incidents put on a problem raised from the trend view (the form's own limit)


def _zone():
    return ZoneInfo(settings.TIME_ZONE)


# --- the open-problem report ------------------------------------------------------------------


@dataclass
class OpenProblem:
    problem: Problem
    age_days: int
    incident_count: int
    organization_count: int
    known_errors: list = field(default_factory=list)

    @property
    def ticket(self):
        return self.problem.ticket

    @property
    def has_workaround(self) -> bool:
        return any(ke.workaround.strip() for ke in self.known_errors)


@dataclass
class OpenProblemReport:
    at: datetime
    rows: list
    by_priority: list  # [(Priority, count)] for P1–P4 (a problem's priorities), also zero

    @property
    def total(self) -> int:
        return len(self.rows)


def open_problems(now=None) -> OpenProblemReport:
    """Open problems, most urgent and oldest first: 2 queries whatever their number (the problems
    with their counts, their known errors with the fix change)."""
    now = now or timezone.now()
    problems = (
        Problem.objects.filter(ticket__kind=Kind.PROBLEM, ticket__status__in=sorted(OPEN_STATUSES))
        .select_related("ticket", "owner")
        .annotate(
            incident_count=Count("links", distinct=True),
            organization_count=Count("links__incident__organization", distinct=True),
        )
        .prefetch_related(
            Prefetch(
                "known_errors",
                queryset=KnownError.objects.select_related("fix_change").order_by(
                    "created_at", "pk"
                ),
            )
        )
        .order_by("ticket__priority", "ticket__reported_at", "pk")
    )
    rows = [
        OpenProblem(
            problem=p,
            age_days=max(0, (now - p.ticket.reported_at).days),
            incident_count=p.incident_count,
            organization_count=p.organization_count,
            known_errors=list(p.known_errors.all()),
        )
        for p in problems
    ]
    counts = {}
    for row in rows:
        counts[row.ticket.priority] = counts.get(row.ticket.priority, 0) + 1
    by_priority = [(Priority(p), counts.get(p, 0)) for p in INCIDENT_PRIORITIES]
    return OpenProblemReport(at=now, rows=rows, by_priority=by_priority)


# --- incident trends --------------------------------------------------------------------------


@dataclass
class TrendMonth:
    month: date
    incidents: int = 0
    # [{"id", "name", "organization", "count", "problem"}]
    services: list = field(default_factory=list)
    causes: list = field(default_factory=list)  # [{"cause", "count"}]

    @property
    def key(self) -> str:
        return self.month.strftime("%Y-%m")


def trend_incidents(organization_id=None):
    """The incidents the trend view counts (any status: a trend is about what happened)."""
    qs = Ticket.objects.filter(kind=Kind.INCIDENT)
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    return qs


def incident_trends(months=TREND_MONTHS, organization_id=None, now=None) -> list[TrendMonth]:
    """The last `months` calendar months, newest first: incidents registered, the top services
    (each with whether an open problem already covers incidents of that service and month) and
    the top causes (the resolution's cause, compared case- and space-insensitively). Four
    aggregating queries whatever the number of tickets."""
    now = timezone.localtime(now or timezone.now(), _zone())
    last = now.date().replace(day=1)
    first = last
    for _step in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    start, end = month_start(first), month_start(next_month(last))
    incidents = trend_incidents(organization_id).filter(reported_at__gte=start, reported_at__lt=end)
    by_month = TruncMonth("reported_at", tzinfo=_zone())

    result = {}
    day = first
    while day <= last:
        result[day] = TrendMonth(month=day)
        day = next_month(day)

    for row in incidents.annotate(m=by_month).values("m").annotate(n=Count("pk")):
        result[_month_of(row["m"])].incidents = row["n"]

    services = (
        incidents.filter(service__isnull=False)
        .annotate(m=by_month)
        .values("m", "service_id", "service__name", "organization__name")
        .annotate(n=Count("pk"))
        .order_by("m", "-n", "service__name", "service_id")
    )
    for row in services:
        month = result[_month_of(row["m"])]
        if len(month.services) < TOP:
            month.services.append(
                {
                    "id": row["service_id"],
                    "name": row["service__name"],
                    "organization": row["organization__name"],
                    "count": row["n"],
                }
            )
    _mark_covered(result)

    causes = (
        incidents.annotate(m=by_month, cause=Lower(Trim("resolution_cause")))
        .exclude(cause="")
        .values("m", "cause")
        .annotate(n=Count("pk"))
        .order_by("m", "-n", "cause")
    )
    for row in causes:
        month = result[_month_of(row["m"])]
        if len(month.causes) < TOP:
            month.causes.append({"cause": row["cause"], "count": row["n"]})
    return sorted(result.values(), key=lambda m: m.month, reverse=True)


def _month_of(value) -> date:
    """The first day of a truncated month (an aware datetime on PostgreSQL and SQLite)."""
    if isinstance(value, datetime):
        value = timezone.localtime(value, _zone()).date()
    return value.replace(day=1)


def _mark_covered(result):
    """Mark each listed (month, service) an open problem already covers (one query): the
    manager then opens that problem instead of raising a second one."""
    pairs = {(m.month, s["id"]) for m in result.values() for s in m.services}
    if not pairs:
        return
    first = min(month for month, _ in pairs)
    last = max(month for month, _ in pairs)
    linked = (
        Ticket.objects.filter(
            kind=Kind.INCIDENT,
            service_id__in={service for _, service in pairs},
            reported_at__gte=month_start(first),
            reported_at__lt=month_start(next_month(last)),
            problem_links__problem__ticket__status__in=sorted(OPEN_STATUSES),
        )
        .annotate(m=TruncMonth("reported_at", tzinfo=_zone()))
        .values_list("m", "service_id", "problem_links__problem__ticket__number")
        .distinct()
    )
    covering = {}
    for month, service, number in linked:
        covering.setdefault((_month_of(month), service), number)
    for month in result.values():
        for service in month.services:
            service["problem"] = covering.get((month.month, service["id"]))


def incidents_of(service_id, month: date, organization_id=None):
    """The incidents of a service in a month, newest first, at most RAISE_MAX: what a problem
    raised from the trend view links."""
    start, end = month_bounds(month)
    return (
        trend_incidents(organization_id)
        .filter(service_id=service_id, reported_at__gte=start, reported_at__lt=end)
        .order_by("-reported_at", "-pk")[:RAISE_MAX]
    )


# --- the monthly SLA report's part (sla.monthly) ------------------------------------------------


def organization_problems(organization, start, end, now):
    """The open problems with incidents of `organization`, most urgent and oldest first, for its
    monthly SLA report. Problems are provider-internal: a row names the problem by number with
    the organisation's own linked incidents and the known errors published to it, never its
    title, other organisations or their incidents. Three queries."""
    own_links = ProblemIncident.objects.filter(incident__organization=organization).select_related(
        "incident"
    )
    published = KnownError.objects.filter(published_to=organization).order_by("created_at", "pk")
    problems = (
        Problem.objects.filter(
            ticket__kind=Kind.PROBLEM,
            ticket__status__in=sorted(OPEN_STATUSES),
            pk__in=ProblemIncident.objects.filter(incident__organization=organization).values(
                "problem_id"
            ),
        )
        .select_related("ticket")
        .prefetch_related(
            Prefetch("links", queryset=own_links, to_attr="own_links"),
            Prefetch("known_errors", queryset=published, to_attr="published"),
        )
        .order_by("ticket__priority", "ticket__reported_at", "pk")
    )
    return [
        monthly.OpenProblem(
            number=p.ticket.number,
            priority=p.ticket.priority,
            age_days=max(0, (now - p.ticket.reported_at).days),
            incidents=tuple(link.incident.number for link in p.own_links),
            known_errors=tuple(ke.title for ke in p.published),
        )
        for p in problems
    ]


def install_report_source():
    monthly.register_source("problems", organization_problems)
