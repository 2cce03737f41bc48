"""The manager dashboard (issue 17 item 1): every figure of `/dashboard/` (and
`/api/v1/dashboard/`) for one viewer and month, aggregated in SQL in a constant number of
queries, whatever the number of tickets.

- Now: the open tickets at risk and breached (counts and the first few), through the same
  `QueueFilter` the queue applies, so a drill-down lists exactly the tickets counted.
- Open escalations per level and the age of the oldest: the escalation app (above sla)
  registers the part (`register_part`); authorised contacts see only the escalations their
  organisation raised.
- The month's compliance per priority and target, and the average restore time against the
  average goal: `sla.queries.compliance` (the same rows as `/sla/`, the API and the monthly
  report), one call for the 12-month trend and the month itself.
- Agent workload (staff only): open tickets per assignee and status, one GROUP BY.
- Customer satisfaction per month and tickets per month: one GROUP BY each.
- Availability per service in the month, with its outages: `sla.availability_queries`.

Every figure carries the query string of its drill-down (`drill`): the queue for provider
staff, the ticket list for authorised contacts, filtered by `tickets.filters.TicketFilter`.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from itertools import pairwise
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, F, Q
from django.db.models.functions import TruncMonth
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from pim.months import month_start, next_month
from pim.permissions import is_authorised_contact, is_provider_staff
from tickets.filters import QueueFilter
from tickets.models import OPEN_STATUSES, SatisfactionRating, Status, Ticket

from . import availability_queries
from .models import Target
from .queries import TARGET_ORDER, compliance, monthly_outcomes

TREND_MONTHS = 12
FIRST_FEW = 5
# The share of decided clocks within target the SLA promises (SPEC §4): every response,
# resolution and pickup in time ("resolution (100 %)"); restore is reported as the share
# restored within target against 80 % (the upper figure of the SLA's "60/80 %" column),
# besides its average against the average goal.
SHARE_GOALS = {"response": 100, "restore": 80, "resolution": 100, "pickup": 100}

# (user, organization id or None, month, now) -> dict of figures
DashboardPart = Callable
_parts: dict[str, DashboardPart] = {}


def register_part(name: str, part: DashboardPart) -> None:
    """An upper app adds a part of the dashboard (escalation: the open escalations)."""
    _parts[name] = part


def may_view(user) -> bool:
    return bool(user.is_authenticated) and (is_provider_staff(user) or is_authorised_contact(user))


def check_viewer(user):
    if not may_view(user):
        raise PermissionDenied(_("The dashboard is for provider staff and authorised contacts."))


def list_url(user) -> str:
    """Where a drill-down leads: the queue for staff, the ticket list for contacts."""
    return reverse("queue") if is_provider_staff(user) else reverse("ticket-list")


def drill(user, organization_id=None, **params) -> str:
    """The URL of the ticket list behind a figure (`params`: TicketFilter's names)."""
    pairs = []
    if organization_id and is_provider_staff(user):
        pairs.append(("organization", organization_id))
    for name, value in params.items():
        for v in value if isinstance(value, list | tuple) else [value]:
            pairs.append((name, v))
    return f"{list_url(user)}?{urlencode(pairs)}"


def month_label(month: date) -> str:
    return month.strftime("%Y-%m")


def trend_months(month: date) -> list[date]:
    """The 12 months ending with `month`, oldest first."""
    months = [month.replace(day=1)]
    for _i in range(TREND_MONTHS - 1):
        m = months[0]
        months.insert(0, date(m.year - (m.month == 1), (m.month - 2) % 12 + 1, 1))
    return months


@dataclass
class Dashboard:
    month: date
    organization_id: int | None
    staff: bool
    now: object
    at_risk: dict = field(default_factory=dict)
    breached: dict = field(default_factory=dict)
    escalations: dict | None = None
    compliance: list = field(default_factory=list)
    restore: list = field(default_factory=list)
    workload: dict | None = None
    satisfaction: list = field(default_factory=list)
    trend: list = field(default_factory=list)
    availability: list = field(default_factory=list)


class _Request:
    """What TicketFilter reads of a request (the user, for "mine" and customer scopes)."""

    def __init__(self, user):
        self.user = user


def filter_q(user, **params):
    """The Q the ticket lists apply for these query values (QueueFilter, as on the queue:
    open tickets unless `status` says otherwise)."""
    data = QueryDict(mutable=True)
    for name, value in params.items():
        data.setlist(name, [str(v) for v in (value if isinstance(value, list) else [value])])
    flt = QueueFilter(data, queryset=Ticket.objects.none(), request=_Request(user), page=False)
    return flt.as_q()


def _now_filters(user):
    """The Q of the open tickets at risk and breached now, as the queue filters them."""
    return {
        state: filter_q(user, status="open", sla_state=state) for state in ("at_risk", "breached")
    }


def _now_counts(base, qs):
    """Open tickets at risk and breached now: one count query over the open tickets only (both
    figures' status filter: the partial index ticket_queue)."""
    return base.filter(status__in=sorted(OPEN_STATUSES)).aggregate(
        **{s: Count("pk", filter=q) for s, q in qs.items()}
    )


def _now_figures(user, base, organization_id, qs, counts):
    """The counts with the first few of each (the most urgent first, as the queue sorts): one
    query per state."""
    out = {}
    for state, q in qs.items():
        first = (
            base.filter(q)
            .order_by(F("next_due_at").asc(nulls_last=True), "priority", "pk")
            .values("pk", "number", "title", "priority", "next_due_at", "organization__name")
        )
        out[state] = {
            "count": counts[state],
            "tickets": [
                {**t, "url": reverse("ticket-detail", args=[t["number"]])}
                for t in first[:FIRST_FEW]
            ],
            "url": drill(user, organization_id, status="open", sla_state=state),
        }
    return out


def _compliance(user, month, organization_id, now):
    """The month's rows per priority and target over the viewer's organisations, from
    `compliance`; the 12-month trend's met and breached per month, from `monthly_outcomes` (the
    same clocks, two counts per month: the trend reads a year of clocks, the month's detail
    only its own month)."""
    months = trend_months(month)
    rows = compliance(
        user,
        since=month_start(month),
        until=month_start(next_month(month)),
        organization_id=organization_id,
        now=now,
    )
    groups = defaultdict(
        lambda: {"count": 0, "met": 0, "breached": 0, "restored": 0, "restore_sum": 0, "goal": None}
    )
    for r in rows:
        key = (timezone.localtime(r["month"]).date().replace(day=1), r["priority"], r["target"])
        g = groups[key]
        g["count"] += r["count"]
        g["met"] += r["met"]
        g["breached"] += r["breached"]
        if r["average_restore_minutes"] is not None and r["restored"]:
            g["restored"] += r["restored"]
            g["restore_sum"] += r["average_restore_minutes"] * r["restored"]
        g["goal"] = r["average_goal_minutes"] or g["goal"]
    outcomes = monthly_outcomes(
        user,
        since=month_start(months[0]),
        until=month_start(next_month(month)),
        organization_id=organization_id,
        now=now,
    )
    return months, groups, outcomes


def _share(met, breached):
    decided = met + breached
    return round(100 * met / decided, 1) if decided else None


def _this_month(user, month, organization_id, groups):
    reported = month_label(month)
    rows, restore = [], []
    keys = sorted(
        (k for k in groups if k[0] == month),
        key=lambda k: (k[1], TARGET_ORDER.get(k[2], len(TARGET_ORDER))),
    )
    for _m, priority, target in keys:
        g = groups[(_m, priority, target)]
        share = _share(g["met"], g["breached"])
        goal = SHARE_GOALS.get(target)

        def link(outcome=None, priority=priority, target=target):
            extra = {"outcome": outcome} if outcome else {}
            return drill(
                user,
                organization_id,
                status="all",
                reported=reported,
                priority=priority,
                target=target,
                **extra,
            )

        rows.append(
            {
                "priority": priority,
                "target": target,
                "target_label": Target(target).label if target in Target.values else target,
                "count": g["count"],
                "met": g["met"],
                "breached": g["breached"],
                "running": g["count"] - g["met"] - g["breached"],
                "share": share,
                "goal": goal,
                "goal_met": None if share is None or goal is None else share >= goal,
                "url": link(),
                "met_url": link("met"),
                "breached_url": link("breached"),
                "running_url": link("running"),
            }
        )
        if target == "restore":
            average = round(g["restore_sum"] / g["restored"]) if g["restored"] else None
            restore.append(
                {
                    "priority": priority,
                    "restored": g["restored"],
                    "average_minutes": average,
                    "goal_minutes": g["goal"],
                    "goal_met": None
                    if average is None or g["goal"] is None
                    else average <= g["goal"],
                    "url": link(),
                }
            )
    return rows, restore


def _trend(user, months, outcomes, base, organization_id):
    """Per month: the share of decided clocks within target, and the tickets reported (one
    count per month in one query: range tests on reported_at, read from an index alone)."""
    bounds = [month_start(m) for m in [*months, next_month(months[-1])]]
    per_month = base.filter(reported_at__gte=bounds[0], reported_at__lt=bounds[-1]).aggregate(
        **{
            f"m{i}": Count("pk", filter=Q(reported_at__gte=a, reported_at__lt=b))
            for i, (a, b) in enumerate(pairwise(bounds))
        }
    )
    out = []
    for i, m in enumerate(months):
        met, breached = outcomes.get(m, (0, 0))
        out.append(
            {
                "month": m,
                "label": month_label(m),
                "tickets": per_month[f"m{i}"],
                "met": met,
                "breached": breached,
                "share": _share(met, breached),
                "tickets_url": drill(user, organization_id, status="all", reported=month_label(m)),
                "breached_url": drill(
                    user, organization_id, status="all", reported=month_label(m), outcome="breached"
                ),
            }
        )
    return out


def _workload(user, base, organization_id, qs):
    """Open tickets per assignee and status (provider staff only): one GROUP BY, which also
    counts the open tickets at risk and breached now (`qs`, the same open tickets): answers
    the workload and those counts."""
    open_statuses = [s for s in Status.values if s not in (Status.RESOLVED, Status.CLOSED)]
    rows = (
        base.filter(status__in=open_statuses)
        .values(
            "assignee_id",
            "assignee__username",
            "assignee__first_name",
            "assignee__last_name",
            "status",
        )
        .annotate(n=Count("pk"), **{s: Count("pk", filter=q) for s, q in qs.items()})
        .order_by()
    )
    counts = dict.fromkeys(qs, 0)
    people = {}
    for r in rows:
        for state in qs:
            counts[state] += r[state]
        pk = r["assignee_id"]
        if pk not in people:
            name = " ".join(filter(None, [r["assignee__first_name"], r["assignee__last_name"]]))
            people[pk] = {
                "assignee_id": pk,
                "name": (name or r["assignee__username"]) if pk else _("Unassigned"),
                "total": 0,
                "statuses": {},
                "url": drill(user, organization_id, status="open", assignee=pk or "unassigned"),
            }
        person = people[pk]
        person["total"] += r["n"]
        person["statuses"][r["status"]] = r["n"]
    used = [s for s in open_statuses if any(s in p["statuses"] for p in people.values())]
    labels = dict(Status.choices)
    ordered = sorted(
        people.values(), key=lambda p: (p["assignee_id"] is None, -p["total"], p["name"])
    )
    for p in ordered:
        p["cells"] = [
            {
                "status": s,
                "count": p["statuses"].get(s, 0),
                "url": drill(
                    user, organization_id, status=s, assignee=p["assignee_id"] or "unassigned"
                ),
            }
            for s in used
        ]
    return {"statuses": [(s, labels[s]) for s in used], "rows": ordered}, counts


def _satisfaction(user, months, organization_id):
    """The customers' ratings per month (count and average score, 1–5): one GROUP BY."""
    start, end = month_start(months[0]), month_start(next_month(months[-1]))
    qs = SatisfactionRating.objects.filter(
        ticket__in=Ticket.objects.visible_to(user), rated_at__gte=start, rated_at__lt=end
    )
    if organization_id:
        qs = qs.filter(ticket__organization_id=organization_id)
    rows = {
        timezone.localtime(r["m"], start.tzinfo).date() if hasattr(r["m"], "hour") else r["m"]: r
        for r in qs.annotate(m=TruncMonth("rated_at", tzinfo=start.tzinfo))
        .values("m")
        .annotate(n=Count("pk"), average=Avg("score"))
        .order_by()
    }
    return [
        {
            "month": m,
            "label": month_label(m),
            "count": rows[m]["n"] if m in rows else 0,
            "average": round(rows[m]["average"], 2) if m in rows else None,
            "url": drill(user, organization_id, status="all", rated=month_label(m)),
        }
        for m in months
    ]


@dataclass(frozen=True)
class LinkedAvailability(availability_queries.ServiceAvailability):
    """A service's availability with the drill-down of its outage count."""

    outages_url: str = ""


def availability_rows(user, rows, organization_id=None) -> list[LinkedAvailability]:
    """`availability_queries.figures` rows with the list of the incidents whose outage each
    month's count counted (the service's, whose outage reaches into the month)."""
    return [
        LinkedAvailability(
            **{f.name: getattr(r, f.name) for f in fields(r)},
            outages_url=drill(
                user,
                organization_id,
                status="all",
                service=r.service_id,
                outage=month_label(r.month),
            ),
        )
        for r in rows
    ]


def figures(user, month: date, organization_id=None, now=None) -> Dashboard:
    """The dashboard of `user` for `month` (first day), optionally one organisation (staff;
    an authorised contact always sees their own). Raises PermissionDenied for anybody else."""
    check_viewer(user)
    now = now or timezone.now()
    month = month.replace(day=1)
    staff = is_provider_staff(user)
    if not staff:
        organization_id = None  # the scope is their organisation already
    base = Ticket.objects.visible_to(user)
    if organization_id:
        base = base.filter(organization_id=organization_id)
    base = base.order_by()
    board = Dashboard(month=month, organization_id=organization_id, staff=staff, now=now)
    now_qs = _now_filters(user)
    if staff:
        board.workload, counts = _workload(user, base, organization_id, now_qs)
    else:
        counts = _now_counts(base, now_qs)
    now_figures = _now_figures(user, base, organization_id, now_qs, counts)
    board.at_risk, board.breached = now_figures["at_risk"], now_figures["breached"]
    part = _parts.get("escalations")
    if part is not None:
        board.escalations = part(user, organization_id, now)
        for row in board.escalations["levels"]:
            row["url"] = drill(user, organization_id, status="all", escalation=row["level"])
    months, groups, outcomes = _compliance(user, month, organization_id, now)
    board.compliance, board.restore = _this_month(user, month, organization_id, groups)
    board.trend = _trend(user, months, outcomes, base, organization_id)
    board.satisfaction = _satisfaction(user, months, organization_id)
    for t, s in zip(board.trend, board.satisfaction, strict=True):
        t["ratings"], t["rating"], t["ratings_url"] = s["count"], s["average"], s["url"]
    board.availability = availability_rows(
        user,
        availability_queries.figures(
            availability_queries.visible_services(user, organization_id), month, now=now
        ),
        organization_id,
    )
    return board
