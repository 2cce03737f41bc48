"""The rules of SPEC §8 for maintenance windows, one function per rule; `validate_notice` and
`check_scope` compose them (admin, pages and API all go through maintenance.services).

| kind       | how often    | allowed days                          | notice          |
|------------|--------------|---------------------------------------|-----------------|
| preventive | 12 per year  | Mon–Fri, not on Dutch public holidays | 7 calendar days |
| adaptive   | as needed    | Mon–Fri, not on Dutch public holidays | 7 calendar days |
| emergency  | as needed    | any day                               | none            |

Working days come from the office-hours calendar of the `sla` app (its holidays and per-date
corrections included): a date is a working day when that calendar is open at some time that day.
Each window rule returns its message (naming the earliest allowed start) or None; the rules are
pure reads, the write that follows them is serialised in maintenance.services.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from pim.inputs import validate_instants
from pim.models import Organization, Service
from sla.businesstime import BusinessCalendar
from sla.calendars import business_calendar
from sla.models import Calendar
from sla.services import ensure_default_calendars

from .models import Impact, Kind, MaintenanceNotice, Status

NOTICE_DAYS = 7
PREVENTIVE_PER_YEAR = 12
RULED_KINDS = (Kind.PREVENTIVE, Kind.ADAPTIVE)
SEARCH_DAYS = 3 * 366  # how far ahead the earliest allowed start is looked for
DEFAULT_CALENDAR = "Kantoortijden NL"


# --- the calendar ---------------------------------------------------------------------------


def office_calendar() -> BusinessCalendar:
    """The BusinessCalendar whose open days are the days preventive/adaptive work may happen."""
    name = getattr(settings, "MAINTENANCE_CALENDAR", DEFAULT_CALENDAR)
    row = Calendar.objects.filter(name=name).only("pk").first()
    if row is None:
        row, _always = ensure_default_calendars()
    return business_calendar(row.pk)


def is_working_day(cal: BusinessCalendar, day: date) -> bool:
    midnight = datetime.combine(day, time(0), tzinfo=cal.zone)
    try:
        return cal.next_open(midnight).date() == day
    except ValueError:  # a calendar that is never open
        return False


def window_days(starts_at: datetime, ends_at: datetime, zone: tzinfo) -> list[date]:
    """The local dates a window touches (an end at midnight does not touch the next day)."""
    first = starts_at.astimezone(zone).date()
    last = (ends_at - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def year_bounds(year: int, zone: tzinfo) -> tuple[datetime, datetime]:
    return (
        datetime(year, 1, 1, tzinfo=zone),
        datetime(year + 1, 1, 1, tzinfo=zone),
    )


def preventive_count(year: int, zone: tzinfo, exclude_pk: int | None = None) -> int:
    """Preventive windows starting in `year` (local), cancelled ones not counted."""
    start, end = year_bounds(year, zone)
    qs = MaintenanceNotice.objects.filter(
        kind=Kind.PREVENTIVE, starts_at__gte=start, starts_at__lt=end
    ).exclude(status=Status.CANCELLED)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.count()


def earliest_allowed_start(
    kind: str,
    *,
    now: datetime | None = None,
    not_before: date | None = None,
    span_days: int = 0,
    exclude_pk: int | None = None,
) -> datetime | None:
    """The earliest start (local midnight) a window of `kind` may have, on or after
    `not_before` (a date), that satisfies every rule. `span_days`: how many days after its first
    day the window lasts (all of them must be working days)."""
    now = now or timezone.now()
    if kind not in RULED_KINDS:
        return now  # emergency: any day, without notice
    cal = office_calendar()
    today = now.astimezone(cal.zone).date()
    day = today + timedelta(days=NOTICE_DAYS)
    if not_before and not_before > day:
        day = not_before
    full_years = {}
    for _step in range(SEARCH_DAYS):
        if kind == Kind.PREVENTIVE:
            if day.year not in full_years:
                full_years[day.year] = (
                    preventive_count(day.year, cal.zone, exclude_pk) >= PREVENTIVE_PER_YEAR
                )
            if full_years[day.year]:
                day = day.replace(year=day.year + 1, month=1, day=1)
                continue
        if all(is_working_day(cal, day + timedelta(days=k)) for k in range(span_days + 1)):
            return datetime.combine(day, time(0), tzinfo=cal.zone)
        day += timedelta(days=1)
    return None


def describe_moment(moment: datetime | None) -> str:
    """ "Monday 7 December 2026 00:00" in the active language and the portal's zone."""
    if moment is None:
        return _("not within the next three years")
    return date_format(timezone.localtime(moment), "l j F Y H:i")


# --- the window rules -----------------------------------------------------------------------


@dataclass(frozen=True)
class ProposedWindow:
    """A preventive or adaptive window as the rules read it: the local days it touches on the
    office calendar. `exclude_pk`: the notice itself, when it is changed."""

    kind: str
    days: list[date]
    calendar: BusinessCalendar
    now: datetime
    exclude_pk: int | None = None

    @classmethod
    def of(
        cls,
        kind: str,
        starts_at: datetime,
        ends_at: datetime,
        *,
        now: datetime,
        exclude_pk: int | None = None,
    ) -> "ProposedWindow":
        cal = office_calendar()
        days = window_days(starts_at, ends_at, cal.zone)
        return cls(kind=kind, days=days, calendar=cal, now=now, exclude_pk=exclude_pk)

    @property
    def first_day(self) -> date:
        return self.days[0]

    @property
    def label(self) -> str:
        return Kind(self.kind).label

    def earliest_start(self, not_before: date | None = None) -> str:
        """The earliest allowed start of a window as long as this one, in words."""
        return describe_moment(
            earliest_allowed_start(
                self.kind,
                now=self.now,
                not_before=not_before,
                span_days=len(self.days) - 1,
                exclude_pk=self.exclude_pk,
            )
        )


def require_end_after_start(starts_at: datetime, ends_at: datetime) -> None:
    """Every kind: a window ends after it starts."""
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": [_("The window must end after it starts.")]})


def notice_period_problem(window: ProposedWindow, announced_at: datetime) -> str | None:
    """Announced at least NOTICE_DAYS calendar days ahead (counted in local dates)."""
    announced = announced_at.astimezone(window.calendar.zone).date()
    if (window.first_day - announced).days >= NOTICE_DAYS:
        return None
    return _(
        "%(kind)s maintenance must be announced at least %(days)s days ahead; the "
        "earliest allowed start is %(earliest)s."
    ) % {"kind": window.label, "days": NOTICE_DAYS, "earliest": window.earliest_start()}


def working_days_problem(window: ProposedWindow) -> str | None:
    """Monday to Friday and not on Dutch public holidays: every day the window touches is open
    on the office calendar (weekends, holidays and its closing days are not)."""
    closed = [d for d in window.days if not is_working_day(window.calendar, d)]
    if not closed:
        return None
    return _(
        "%(kind)s maintenance is only allowed Monday to Friday and not on Dutch public "
        "holidays; %(day)s is not a working day. The earliest allowed start is "
        "%(earliest)s."
    ) % {
        "kind": window.label,
        "day": date_format(closed[0], "l j F Y"),
        "earliest": window.earliest_start(not_before=window.first_day),
    }


def preventive_quota_problem(window: ProposedWindow) -> str | None:
    """At most PREVENTIVE_PER_YEAR preventive windows start in one calendar year (cancelled
    ones not counted)."""
    if window.kind != Kind.PREVENTIVE:
        return None
    year = window.first_day.year
    count = preventive_count(year, window.calendar.zone, window.exclude_pk)
    if count < PREVENTIVE_PER_YEAR:
        return None
    return _(
        "At most %(max)s preventive maintenance windows per calendar year; "
        "%(year)s already has %(count)s. The earliest allowed start is %(earliest)s."
    ) % {
        "max": PREVENTIVE_PER_YEAR,
        "year": year,
        "count": count,
        "earliest": window.earliest_start(not_before=window.first_day),
    }


def validate_notice(
    kind: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    *,
    now: datetime | None = None,
    announced_at: datetime | None = None,
    exclude_pk: int | None = None,
    cancelled: bool = False,
) -> None:
    """The window rules of SPEC §8. Raises ValidationError({field: [messages]}); each message
    names its rule and the earliest allowed start.

    `announced_at`: when the window was announced (an unchanged window keeps its announcement);
    by default the window is announced now. `exclude_pk`: the notice itself, when it is changed.
    Emergency and cancelled windows only need to end after they start.
    """
    if starts_at is None or ends_at is None:
        return
    validate_instants(starts_at=starts_at, ends_at=ends_at)
    require_end_after_start(starts_at, ends_at)
    if kind not in RULED_KINDS or cancelled:
        return
    now = now or timezone.now()
    window = ProposedWindow.of(kind, starts_at, ends_at, now=now, exclude_pk=exclude_pk)
    problems = [
        problem
        for problem in (
            notice_period_problem(window, announced_at or now),
            working_days_problem(window),
            preventive_quota_problem(window),
        )
        if problem
    ]
    if problems:
        raise ValidationError({"starts_at": problems})


# --- the scope rules ------------------------------------------------------------------------


def organizations_problem(all_organizations: bool, org_ids: set[int]) -> str | None:
    """A notice names the organisations it affects, or all of them."""
    if all_organizations or org_ids:
        return None
    return _("Choose the affected organisations, or all organisations.")


def services_problem(
    all_organizations: bool, org_ids: set[int], services: Iterable[Service]
) -> str | None:
    """The services named belong to the organisations named."""
    if all_organizations:
        return None
    stray = [s for s in services if s.organization_id not in org_ids]
    if not stray:
        return None
    return _("%(service)s is not a service of the chosen organisations.") % {
        "service": stray[0].name
    }


def emergency_scenario_problem(impact: str, emergency_scenario: str) -> str | None:
    """If impact is expected, the provider proposes an emergency scenario (SPEC §8)."""
    if impact == Impact.NONE or (emergency_scenario or "").strip():
        return None
    return _("Impact is expected: propose the emergency scenario customers can fall back on.")


def check_scope(
    all_organizations: bool,
    organizations: Iterable[Organization],
    services: Iterable[Service],
    emergency_scenario: str,
    impact: str,
) -> None:
    """The scope rules; raises ValidationError({field: [message]})."""
    org_ids = {o.pk for o in organizations}
    problems = {
        "organizations": organizations_problem(all_organizations, org_ids),
        "services": services_problem(all_organizations, org_ids, services),
        "emergency_scenario": emergency_scenario_problem(impact, emergency_scenario),
    }
    errors = {field: [problem] for field, problem in problems.items() if problem}
    if errors:
        raise ValidationError(errors)
