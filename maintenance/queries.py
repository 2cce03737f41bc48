"""Read paths: notice lists for pages, API and feed; maintenance time for availability (SPEC §9)."""

import calendar as pycalendar
from collections import defaultdict
from datetime import datetime, time, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from pim.inputs import parse_month as parse_month_value
from pim.models import Organization, Service, User

from .models import MaintenanceNotice, MaintenanceUpdate, Status, Subscription


def notice_list(user: User) -> QuerySet[MaintenanceNotice]:
    """The notices `user` may see (the tenant choke point), with what pages need."""
    return MaintenanceNotice.objects.visible_to(user).prefetch_related("organizations", "services")


def notice_detail(user: User) -> QuerySet[MaintenanceNotice]:
    """As notice_list, with each notice's timeline (and its authors) and who initiated it."""
    return (
        notice_list(user)
        .select_related("initiated_by")
        .prefetch_related(
            Prefetch("updates", queryset=MaintenanceUpdate.objects.select_related("author"))
        )
    )


def get_notice_for(user: User, pk: int, *, detail: bool = False) -> MaintenanceNotice:
    """The notice `pk` if `user` may see it; Http404 otherwise, also for a notice of another
    organisation (after healthchecks' `_get_rw_check_for_user`). Whether the user may change it
    is the caller's question (pim.permissions). `detail`: with its timeline (notice_detail)."""
    return get_object_or_404(notice_detail(user) if detail else notice_list(user), pk=pk)


def own_subscriptions(user: User) -> QuerySet[Subscription]:
    """The user's own maintenance subscriptions: nobody sees another user's."""
    return Subscription.objects.filter(user=user).select_related("organization", "service")


def get_subscription_for(user: User, pk: int) -> Subscription:
    """The user's own subscription `pk`; Http404 for anybody else's."""
    return get_object_or_404(own_subscriptions(user), pk=pk)


def upcoming(qs, now=None):
    return qs.filter(ends_at__gte=now or timezone.now()).order_by("starts_at", "pk")


def past(qs, now=None):
    return qs.filter(ends_at__lt=now or timezone.now()).order_by("-starts_at", "-pk")


def month_grid(qs, year, month):
    """Weeks (Monday first) of `month`: each a list of (date, in_month, [notices that day])."""
    zone = timezone.get_current_timezone()
    weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    first, last = weeks[0][0], weeks[-1][-1]
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    by_day = defaultdict(list)
    for notice in qs.filter(starts_at__lt=end, ends_at__gt=start).order_by("starts_at", "pk"):
        day = max(timezone.localtime(notice.starts_at, zone).date(), first)
        stop = min(
            timezone.localtime(notice.ends_at - timedelta(microseconds=1), zone).date(), last
        )
        while day <= stop:
            by_day[day].append(notice)
            day += timedelta(days=1)
    return [[(d, d.month == month, by_day.get(d, [])) for d in week] for week in weeks]


def parse_month(value, today=None):
    """(year, month) from "2026-12"; today's month when missing or invalid."""
    today = today or timezone.localdate()
    first = parse_month_value(value)
    if first is None:
        return today.year, today.month
    return first.year, first.month


# --- availability ---------------------------------------------------------------------------


def _merge(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def maintenance_intervals(start, end, organizations=None):
    """{(organization id, service id): [(from, to), ...]} — the maintenance windows in
    [start, end), clipped to it, overlaps merged per organisation and service, cancelled notices
    left out. A window is the actual one where recorded (the notice went in progress, was
    completed), else the planned one. A notice that lists no service of an organisation affects
    all its services; an organisation without services at all is reported as
    (organization id, None).

    `organizations`: limit to these organisations (ids or objects); default all. Six queries
    whatever the number of notices, organisations and services.
    """
    # The actual window may lie outside the planned one: a notice is a candidate when either
    # overlaps the period (the actual one is checked below, per notice).
    planned = Q(starts_at__lt=end, ends_at__gt=start)
    actual = Q(
        started_at__isnull=False,
        started_at__lt=end,
    ) & (Q(completed_at__isnull=True, ends_at__gt=start) | Q(completed_at__gt=start))
    notices = (
        MaintenanceNotice.objects.exclude(status=Status.CANCELLED)
        .filter(planned | actual)
        .prefetch_related("organizations", "services")
    )
    org_ids = None
    if organizations is not None:
        org_ids = {getattr(o, "pk", o) for o in organizations}
    all_orgs = Organization.objects.all()
    if org_ids is not None:
        all_orgs = all_orgs.filter(pk__in=org_ids)
    all_org_ids = list(all_orgs.values_list("pk", flat=True))
    services_of = defaultdict(list)
    for service_id, org_id in Service.objects.filter(organization__in=all_org_ids).values_list(
        "pk", "organization_id"
    ):
        services_of[org_id].append(service_id)

    raw = defaultdict(list)
    for notice in notices:
        window = notice.actual_window
        if window is None or not (window[0] < end and window[1] > start):
            continue
        window = (max(window[0], start), min(window[1], end))
        affected = all_org_ids if notice.all_organizations else [
            o.pk for o in notice.organizations.all() if org_ids is None or o.pk in org_ids
        ]  # fmt: skip
        listed = defaultdict(list)
        for service in notice.services.all():
            listed[service.organization_id].append(service.pk)
        for org_id in affected:
            for service_id in listed.get(org_id) or services_of.get(org_id) or [None]:
                raw[(org_id, service_id)].append(window)
    return {key: _merge(windows) for key, windows in raw.items()}


def maintenance_minutes(start, end, organizations=None):
    """{(organization id, service id): minutes of maintenance in [start, end)} — what the
    availability report subtracts from downtime (SPEC §9). See maintenance_intervals()."""
    return {
        key: sum((b - a).total_seconds() for a, b in windows) / 60
        for key, windows in maintenance_intervals(start, end, organizations).items()
    }
