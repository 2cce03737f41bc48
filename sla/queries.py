"""Read paths for clocks: live clocks for pages and the API, compliance."""

from dataclasses import dataclass
from datetime import UTC, datetime, time

from django.db.models import Avg, Count, OuterRef, Prefetch, Q, Subquery
from django.utils import timezone

from pim.models import Organization
from pim.scoping import organization_filter, scopes_disabled
from tickets.models import SatisfactionRating

from . import services
from .calendars import business_calendar
from .models import Calendar, Clock, ClockEvent, PolicyTarget, Target, TicketSla

TARGET_ORDER = {t: i for i, t in enumerate(Target.values)}


def with_clock_data(queryset):
    """Prefetch the stored clocks the API's `sla` field reads: one query for any number of rows,
    no ledger replay (the Clock rows are the ledger's derived snapshot). A write clears the
    prefetch cache (`ticket_response`), so the field then reads the rows afresh."""
    return queryset.prefetch_related(Prefetch("clocks", queryset=Clock.objects.order_by("pk")))


@dataclass(frozen=True)
class LiveClock:
    target: str
    due_at: datetime | None
    paused: bool
    state: str
    used_seconds: int


def live_clocks(ticket, now=None, calendars=None):
    """The clocks of a ticket as of now, from its stored Clock rows: the state and the business
    time used move on from the last recompute by themselves (`live_state`, `live_used`).
    `calendars` is a memo the caller may share over a list (one calendar lookup per list, not
    one per row: each lookup asks the cache whether the calendar changed)."""
    now = now or timezone.now()
    calendars = {} if calendars is None else calendars

    def calendar(pk):
        if pk not in calendars:
            calendars[pk] = business_calendar(pk)
        return calendars[pk]

    return [
        LiveClock(
            c.target,
            timezone.localtime(c.due_at) if c.due_at else None,
            c.paused,
            live_state(c, now),
            live_used(c, now, calendar),
        )
        for c in sorted(ticket.clocks.all(), key=lambda c: TARGET_ORDER.get(c.target, 99))
    ]


def live_used(clock, now, calendar=business_calendar):
    """Business seconds a stored clock has used by `now`: what it had at its last recompute,
    plus the business time since then while it runs."""
    running = clock.started_at is not None and clock.stopped_at is None and not clock.paused
    if not running or now <= clock.computed_at:
        return clock.used_seconds
    elapsed = calendar(clock.calendar_id).elapsed(clock.computed_at, now)
    return clock.used_seconds + int(elapsed.total_seconds())


def state_q(state, now=None):
    """Clocks whose live state is `state` (stored state plus what the clock says now)."""
    now = now or timezone.now()
    running = Q(stopped_at__isnull=True, paused=False)
    if state == "breached":
        return Q(state="breached") | (running & Q(due_at__lte=now))
    if state == "at_risk":
        return (
            (Q(state="at_risk") | (running & Q(at_risk_at__lte=now)))
            & ~(running & Q(due_at__lte=now))
            & ~Q(state__in=["breached", "met"])
        )
    if state == "pending":
        return Q(state="pending") & ~(running & Q(at_risk_at__lte=now))
    if state == "met":
        return Q(state="met")
    return Q(pk__in=[])


def compliance(user, *, since=None, until=None, organization_id=None, now=None):
    """Per month × organisation × priority × target: count, met, breached, share within target,
    average restore time against the average goal, of what `user` may see.

    One aggregation over the Clock rows' own report columns (organisation, priority, month,
    counted: kept by every write of a clock), served by the partial index `clock_compliance`
    without reading tickets, the organisations' names looked up per group; then the goals.
    `since` and `until` (exclusive) select the months the tickets were registered in."""
    return _compliance(
        organization_filter(user, "organization"),
        since=since,
        until=until,
        organization_id=organization_id,
        now=now,
    )


def organization_compliance(organization_id, *, since=None, until=None, now=None):
    """`compliance` of one organisation, for work without a user (the monthly report, its
    Celery task): the same aggregation, so the same figures as the page and the API."""
    if organization_id is None:
        raise ValueError("organization_compliance needs an organisation")
    return _compliance(Q(), since=since, until=until, organization_id=organization_id, now=now)


def _report_rows(scope, *, since=None, until=None, organization_id=None):
    """The counted Clock rows of `scope` (a Q on the Clock's own `organization` column) whose
    tickets were registered in [since, until), read without the ticket: the index
    `clock_compliance` (months first) or `clock_compliance_org` (an organisation's months)
    serves an aggregation alone.

    The rows carry their ticket's organisation (`services.report_columns`, kept by every clock
    write; a ticket never changes organisation) and `scope` restricts that column, so the
    django-scopes filter of the manager (the ticket's organisation) is left out: it would join
    the tickets to the clocks (a hash join of a million rows for an authorised contact) to find
    the same rows."""
    with scopes_disabled():
        qs = Clock.objects.filter(scope, counted=True)
    if organization_id:
        qs = qs.filter(organization_id=organization_id)
    if since:
        qs = qs.filter(month__gte=services.report_month(since))
    if until:
        qs = qs.filter(month__lt=services.report_month(until))
    return qs


def monthly_outcomes(user, *, since, until, organization_id=None, now=None):
    """{month (first day): (met, breached)} of the clocks `compliance` counts, over every
    organisation, priority and target `user` may see: the same figures as the sums of
    `compliance`'s rows per month, from a lighter aggregation (two counts per month) for the
    dashboard's 12-month trend."""
    now = now or timezone.now()
    qs = _report_rows(
        organization_filter(user, "organization"),
        since=since,
        until=until,
        organization_id=organization_id,
    )
    rows = list(
        qs.values("month")
        .annotate(
            met=Count("target", filter=state_q("met", now)),
            breached=Count("target", filter=state_q("breached", now)),
        )
        .order_by()
    )
    return {r["month"]: (r["met"], r["breached"]) for r in rows}


def _compliance(scope, *, since=None, until=None, organization_id=None, now=None):
    now = now or timezone.now()
    qs = _report_rows(scope, since=since, until=until, organization_id=organization_id)
    names = Organization.objects.filter(pk=OuterRef("organization_id"))
    rows = list(
        qs.values("month", "organization_id", "priority", "target")
        .annotate(
            total=Count("target"),
            met=Count("target", filter=state_q("met", now)),
            breached=Count("target", filter=state_q("breached", now)),
            avg_restore=Avg("used_seconds", filter=Q(target="restore", stopped_at__isnull=False)),
            restored=Count("target", filter=Q(target="restore", stopped_at__isnull=False)),
        )
        # per group, after the aggregation: the organisations table is read a few hundred times,
        # not joined to millions of clocks
        .annotate(organization_name=Subquery(names.values("name")[:1]))
        .order_by()
    )
    goals = (
        {
            (t.kind, t.priority): t.average_goal_minutes
            for t in PolicyTarget.objects.filter(
                target="restore", average_goal_minutes__isnull=False
            ).order_by("-policy_id")
        }
        if rows
        else {}
    )
    out = []
    for r in rows:
        decided = r["met"] + r["breached"]
        goal = goals.get(("incident", r["priority"])) if r["target"] == "restore" else None
        month = datetime.combine(r["month"], time.min, services.REPORT_ZONE)
        out.append(
            {
                "month": month.astimezone(UTC),
                "organization": r["organization_name"],
                "priority": r["priority"],
                "target": r["target"],
                "target_label": Target(r["target"]).label
                if r["target"] in Target.values
                else r["target"],
                "count": r["total"],
                "met": r["met"],
                "breached": r["breached"],
                "open": r["total"] - decided,
                "share_within_target": round(100 * r["met"] / decided, 1) if decided else None,
                "average_restore_minutes": (
                    round(r["avg_restore"] / 60) if r["avg_restore"] is not None else None
                ),
                "average_goal_minutes": goal,
                # the restored clocks the average is over (to weigh averages of several groups)
                "restored": r["restored"],
            }
        )
    # SPEC order (response → restore → resolution) within a month, organisation and priority
    out.sort(
        key=lambda r: (
            -r["month"].timestamp(),
            r["organization"],
            r["priority"],
            TARGET_ORDER.get(r["target"], len(TARGET_ORDER)),
        )
    )
    return out


def live_state(clock, now):
    """The state of a stored Clock row as of `now` (due and at-risk moments pass by themselves)."""
    if clock.stopped_at is not None or clock.paused:
        return clock.state
    if clock.due_at is not None and now >= clock.due_at:
        return "breached"
    if clock.at_risk_at is not None and now >= clock.at_risk_at and clock.state == "pending":
        return "at_risk"
    return clock.state


def with_clocks(queryset):
    """Prefetch the stored clocks (one query per page) for the lists' countdowns; lists sort by
    the ticket's `next_due_at` summary column."""
    return queryset.prefetch_related(
        Prefetch("clocks", queryset=Clock.objects.order_by("due_at", "pk"), to_attr="clock_list")
    )


def next_clock(ticket):
    """The running clock that falls due first (from `with_clocks`), else None."""
    running = [c for c in getattr(ticket, "clock_list", []) if c.stopped_at is None]
    running.sort(key=lambda c: (c.due_at is None, c.due_at or 0))
    return running[0] if running else None


def clock_panel(ticket, now=None):
    """Everything the ticket page shows about the SLA: live clocks with the segments that explain
    them (counted, paused, stopped), the ledger, the terms and the follow-up deadlines."""
    now = now or timezone.now()
    terms = TicketSla.objects.filter(ticket=ticket).select_related("contract").first()
    if terms is None:
        return None
    events = list(ClockEvent.objects.filter(ticket=ticket).select_related("actor"))
    results = services.compute(
        ticket,
        now,
        events=[services.engine.Event(e.kind, e.at, e.until, e.data) for e in events],
        terms=terms.terms,
    )
    clocks = []
    for r in results:
        cal = business_calendar(r.calendar_id)
        segments = []
        for seg in r.segments:
            if seg.start >= now and seg.counted:
                continue
            end = seg.end if seg.end is not None and seg.end <= now else None
            span = cal.elapsed(seg.start, end or max(now, seg.start))
            segments.append(
                {
                    "start": seg.start,
                    "end": seg.end,
                    "counted": seg.counted,
                    "reason": seg.reason,
                    "business_seconds": int(span.total_seconds()),
                }
            )
        clocks.append(
            {
                "target": r.target,
                "label": Target(r.target).label,
                "calendar_id": r.calendar_id,
                "day_seconds": cal.day_seconds(),
                "state": r.state,
                "due_at": r.due_at,
                "at_risk_at": r.at_risk_at,
                "started_at": r.started_at,
                "stopped_at": r.stopped_at,
                "paused": r.paused,
                "used_seconds": r.used_seconds,
                "target_seconds": r.target_seconds,
                "left_seconds": (r.due_at - now).total_seconds() if r.due_at else None,
                "left_business_seconds": max((r.target_seconds or 0) - (r.used_seconds or 0), 0),
                "always_open": cal.always_open,
                "segments": segments,
            }
        )
    names = dict(
        Calendar.objects.filter(pk__in={c["calendar_id"] for c in clocks}).values_list("pk", "name")
    )
    for clock in clocks:
        clock["calendar_name"] = names.get(clock["calendar_id"], "")
    clocks.sort(key=lambda c: TARGET_ORDER.get(c["target"], len(TARGET_ORDER)))
    priority_terms = terms.terms.get("priorities", {}).get(str(ticket.priority), {})
    return {
        "clocks": clocks,
        "events": events,
        "terms": terms,
        "service_window": terms.terms.get("service_window"),
        "scenario": terms.terms.get("emergency_scenarios", {}).get(str(ticket.priority)),
        "average_goals": priority_terms.get("average_goal_minutes", {}),
        "now": now,
    }


def satisfaction_by_agent(since, organization_id=None):
    """The customers' ratings of closed tickets since `since`, per agent (issue 12 item 11):
    number of ratings and average score, computed in SQL. Provider staff only."""
    qs = SatisfactionRating.objects.filter(rated_at__gte=since)
    if organization_id is not None:
        qs = qs.filter(ticket__organization_id=organization_id)
    rows = (
        qs.values("agent__username", "agent__first_name", "agent__last_name")
        .annotate(count=Count("pk"), average=Avg("score"))
        .order_by("agent__last_name", "agent__first_name", "agent__username")
    )
    return [
        {
            "agent": " ".join(filter(None, [r["agent__first_name"], r["agent__last_name"]]))
            or r["agent__username"]
            or "",
            "count": r["count"],
            "average": round(r["average"], 1),
        }
        for r in rows
    ]
