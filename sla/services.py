"""SLA writes: snapshot a ticket's terms, append to its clock ledger, recompute its clocks.

The receivers in `sla/receivers.py` call these from the signals tickets sends inside its own
transactions, so a ticket and its clocks always change together. The two agent actions on a
ticket's SLA (an interval without access, "SLA not applicable") are here too.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from pim import config_cache
from pim.inputs import validate_instants
from pim.permissions import require_worker
from tickets.models import Status, Ticket
from tickets.services import record_audit

from . import engine, majorchange
from .calendars import business_calendar, pinned
from .models import (
    Calendar,
    Clock,
    ClockEvent,
    Contract,
    PolicyTarget,
    ServiceWindow,
    SlaEvent,
    SlaPolicy,
    TicketSla,
)

# Follow-up rules of SPEC §3.2 (working days on the office-hours calendar).
FOLLOW_UPS = {
    "waiting_for_customer": 3,
    "response_received": 2,
    "waiting_for_supplier": 3,
}
PIR_WORKING_DAYS = 5
# A change's steps (seed §5.2.2): the quote within 10 calendar days of receipt, and within 3
# working days (the office calendar, also under a 24/7 contract) the notice that confirms the
# 10 days or names the date, and says whether the quote is free.
QUOTE_CALENDAR_DAYS = 10
QUOTE_NOTICE_WORKING_DAYS = 3
PAUSING_STATUSES = ("waiting_for_customer", "planned_external")


def contract_for(organization_id, when):
    day = timezone.localdate(when)
    return (
        Contract.objects.filter(organization_id=organization_id, valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .select_related("policy")
        .order_by("-valid_from")
        .first()
    )


def default_policy():
    return SlaPolicy.objects.order_by("pk").first()


# The terms a ticket is registered under depend on its organisation, kind and day only: each
# process keeps them as a configuration copy (`pim.config_cache`) that every save or delete of a
# contract, its overrides, a policy, its targets or a calendar (with its hours and dates) makes
# stale (`sla/receivers.py`), so a new ticket never waits for three SELECTs of unchanged rows.


def terms_for(ticket):
    """(contract id, terms) for a new ticket: the process's copy, else `build_terms`."""
    day = timezone.localdate(ticket.reported_at)

    def build():
        contract, terms = build_terms(ticket)
        return (contract.pk if contract else None, terms)

    return config_cache.get(("sla:terms", ticket.organization_id, ticket.kind, day), build)


def build_terms(ticket):
    """The policy and contract terms that apply to `ticket`, frozen as JSON."""
    contract = contract_for(ticket.organization_id, ticket.reported_at)
    version = None
    if contract:
        # the version of the SLA document in force on the day of registration (its policy)
        versions = contract.document_versions.filter(policy__isnull=False).select_related("policy")
        version = majorchange.version_in_force(versions, timezone.localdate(ticket.reported_at))
    policy = version.policy if version else (contract.policy if contract else default_policy())
    if policy is None:
        return None, {}
    window = contract.service_window if contract else ServiceWindow.OFFICE_HOURS
    always_priorities = {int(p) for p in policy.always_priorities.split(",") if p.strip()}
    overrides = {
        (o.priority, o.target): o
        for o in (contract.overrides.filter(kind=ticket.kind) if contract else [])
    }
    priorities = {}
    for t in PolicyTarget.objects.filter(policy=policy, kind=ticket.kind):
        on_always = window == ServiceWindow.ALWAYS and t.priority in always_priorities
        entry = priorities.setdefault(
            str(t.priority),
            {
                "calendar": policy.always_calendar_id if on_always else policy.office_calendar_id,
                "targets": {},
                "average_goal_minutes": {},
            },
        )
        override = overrides.get((t.priority, t.target))
        spec = {
            "unit": override.unit if override else t.unit,
            "amount": override.amount if override else t.amount,
        }
        if t.always_calendar:
            spec["calendar"] = policy.always_calendar_id
        entry["targets"][t.target] = spec
        if t.average_goal_minutes:
            entry["average_goal_minutes"][t.target] = t.average_goal_minutes
    scenarios = (contract.emergency_scenarios if contract else {}) or {}
    steps = {}
    if ticket.kind == "change":
        steps = {
            "quote_notice": {
                "unit": "working_days",
                "amount": QUOTE_NOTICE_WORKING_DAYS,
                "calendar": policy.office_calendar_id,
            },
            "quote": {
                "unit": "calendar_days",
                "amount": QUOTE_CALENDAR_DAYS,
                "calendar": policy.always_calendar_id,
            },
        }
    return contract, {
        "policy": policy.pk,
        "policy_name": policy.name,
        "policy_updated_at": policy.updated_at.isoformat(),
        "service_window": window,
        "at_risk_share": str(policy.at_risk_share),
        "office_calendar": policy.office_calendar_id,
        "priorities": priorities,
        "emergency_scenarios": scenarios,
        **({"steps": steps} if steps else {}),
        **({"sla_version": version.number} if version else {}),
    }


def prepare(ticket, now=None):
    """Before a new ticket's row is written: its terms and first clocks from the registration
    alone, and the summary columns they give set on the instance, so the INSERT carries them
    (an UPDATE of the row just written would add a second entry to each of the ticket table's
    ~30 indexes). `start` writes the ledger and the clock rows from what this kept."""
    now = now or timezone.now()
    contract_id, terms = terms_for(ticket)
    registered = engine.Event(
        ClockEvent.Kind.REGISTERED, ticket.reported_at, None, {"priority": ticket.priority}
    )
    with pinned():  # each calendar is looked up once for all the clocks
        results = compute(ticket, now, events=[registered], terms=terms)
    ticket.next_sla_check_at = engine.next_check(results, now)
    for name, value in summary(results).items():
        setattr(ticket, name, value)
    ticket._sla_prepared = (contract_id, terms, registered, results, now)


def start(ticket, actor=None, now=None):
    """Snapshot the terms and open the ledger at registration (DESIGN §2 step 1), and store the
    clocks derived from that one event directly: what `recompute` would read back from the
    rows just written is known here (tests/sla/test_write_path.py proves both agree). The
    ticket's row has the summary `prepare` gave it (tickets' `ticket_registering`); it is
    written again only when the other apps' moments (escalation's reminders) come first."""
    prepared = ticket.__dict__.pop("_sla_prepared", None)
    in_row = prepared is not None
    if not in_row:  # registered without `ticket_registering`: the summary is not in the row
        prepare(ticket, now)
        prepared = ticket.__dict__.pop("_sla_prepared")
    contract_id, terms, registered, results, now = prepared
    sla = TicketSla.objects.create(ticket=ticket, contract_id=contract_id, terms=terms)
    # what the API's create response reads of them: these rows, and no outage marked yet
    Ticket.sla_terms.related.set_cached_value(ticket, sla)
    Ticket.outage.related.set_cached_value(ticket, None)
    ClockEvent.objects.create(
        ticket=ticket,
        kind=registered.kind,
        at=registered.at,
        data=registered.data,
        actor=actor,
    )
    store_clocks(ticket, results, now, new=True)
    with pinned():
        next_at = next_check_at(ticket, results, sla, now)
    if not in_row or next_at != ticket.next_sla_check_at:
        write_summary(ticket, results, next_at)
    return results


def record(ticket, kind, *, at=None, until=None, actor=None, recompute_now=True, **data):
    """Append one event to the ticket's ledger and recompute its clocks."""
    event = ClockEvent.objects.create(
        ticket=ticket, kind=kind, at=at or timezone.now(), until=until, data=data, actor=actor
    )
    if recompute_now:
        recompute(ticket)
    return event


def on_responded(ticket, at, actor=None, *, recompute_now=True):
    record(ticket, ClockEvent.Kind.RESPONDED, at=at, actor=actor, recompute_now=recompute_now)


def on_priority_change(ticket, priority, actor=None, at=None):
    record(ticket, ClockEvent.Kind.PRIORITY, at=at, actor=actor, priority=priority)


def on_status_change(ticket, old, new, actor=None, at=None):
    """Pauses, stops and follow-up deadlines that follow from a status change (SPEC §3.2, §4)."""
    at = at or timezone.now()
    kinds = []
    if old in PAUSING_STATUSES and new not in PAUSING_STATUSES:
        kinds.append((ClockEvent.Kind.RESUMED, None, {}))
    if new in PAUSING_STATUSES:
        until = ticket.wish_date if new == "planned_external" else None
        kinds.append((ClockEvent.Kind.PAUSED, until, {"reason": new}))
    if new == "resolved":
        kinds.append((ClockEvent.Kind.RESOLVED, None, {"resolution_type": ticket.resolution_type}))
    if old == "resolved" and new != "closed":
        kinds.append((ClockEvent.Kind.REOPENED, None, {}))
    if new == "closed":
        kinds.append((ClockEvent.Kind.CLOSED, None, {}))
    for kind, until, data in kinds:
        record(ticket, kind, at=at, until=until, actor=actor, recompute_now=False, **data)
    recompute(ticket, sla=_set_follow_up(ticket, new, at))


def append_no_access(ticket, start_at, end_at, actor=None, note=""):
    """Ledger: an interval in which staff had no access to the customer's premises (paused)."""
    return record(
        ticket, ClockEvent.Kind.NO_ACCESS, at=start_at, until=end_at, actor=actor, note=note
    )


def _office_calendar(ticket_sla):
    cal_id = ticket_sla.terms.get("office_calendar")
    return business_calendar(cal_id) if cal_id else None


def _set_follow_up(ticket, status, at):
    sla = TicketSla.objects.filter(ticket=ticket).first()
    if sla is None:
        return None
    cal = _office_calendar(sla)
    days = FOLLOW_UPS.get(status)
    fields = ["follow_up_kind", "follow_up_due_at", "pir_due_at"]
    before = [getattr(sla, name) for name in fields]
    sla.follow_up_kind = status if days else ""
    sla.follow_up_due_at = cal.add_working_days(at, days) if (days and cal) else None
    if status == "resolved" and ticket.priority == 1 and cal and sla.pir_due_at is None:
        sla.pir_due_at = cal.add_working_days(ticket.resolved_at or at, PIR_WORKING_DAYS)
    if [getattr(sla, name) for name in fields] != before:  # most moves have no follow-up
        sla.save(update_fields=fields)
    return sla


def events_of(ticket):
    return [
        engine.Event(e.kind, e.at, e.until, e.data)
        for e in ClockEvent.objects.filter(ticket=ticket).order_by("at", "pk")
    ]


def compute(ticket, now=None, *, events=None, terms=None):
    """The live clocks of a ticket (used by the pages and the API)."""
    if terms is None:
        sla = TicketSla.objects.filter(ticket=ticket).first()
        terms = sla.terms if sla else {}
    if not terms:
        return []
    if events is None:
        events = events_of(ticket)
    terms = {**terms, "priority": ticket.priority}
    return engine.compute(ticket.kind, events, terms, business_calendar, now or timezone.now())


def apply_result(clock, result, now):
    """Copy an engine result onto a Clock row (recompute and the sweep's batches)."""
    clock.calendar_id = result.calendar_id
    clock.target_seconds = result.target_seconds
    clock.started_at = result.started_at
    clock.due_at = result.due_at
    clock.at_risk_at = result.at_risk_at
    clock.paused = result.paused
    clock.stopped_at = result.stopped_at
    clock.used_seconds = result.used_seconds
    clock.state = result.state
    clock.computed_at = now


# The worst state first: a ticket's `sla_state` is the worst of its clocks' states.
STATE_RANK = {"met": 0, "pending": 1, "at_risk": 2, "breached": 3}
SUMMARY_FIELDS = ("next_due_at", "sla_state")


def summary(clocks):
    """The ticket's SLA summary from its clocks (engine results or Clock rows), as a dict of the
    Ticket columns: `next_due_at`, the earliest due time of the live clocks (running, not
    paused), and `sla_state`, the worst state (breached > at_risk > pending > met; '' if none)."""
    live = [c.due_at for c in clocks if c.stopped_at is None and not c.paused and c.due_at]
    return {
        "next_due_at": min(live) if live else None,
        "sla_state": max((c.state for c in clocks), key=STATE_RANK.__getitem__, default=""),
    }


def next_check_at(ticket, results, sla, now, exclude=(), *, events_recorded=False):
    """The next moment the sweep must look at the ticket: its clocks, follow-up and PIR
    deadlines, the providers' moments (escalation) and, unless the caller recorded every SLA
    event the clocks reached (the sweep), at once when one is still unrecorded."""
    moments = [m for m in (engine.next_check(results, now),) if m]
    if sla is not None:
        moments += [m for m in (sla.follow_up_due_at, sla.pir_due_at) if m and m > now]
    moments += extra_check_moments(ticket, now, exclude=exclude)
    if not events_recorded:
        moments += [m for m in (unrecorded_events_moment(ticket, results, now),) if m]
    return min(moments) if moments else None


def unrecorded_events_moment(ticket, results, now):
    """A clock that a recompute outside the sweep (an agent's action, a ticket registered after
    its deadline) found at risk or breached, without its SLA event yet, makes the ticket due at
    once, so the event and its escalation are not left for later. Asks the table only when a
    clock is at risk or breached."""
    reached = {(r.target, r.state) for r in results if r.state in ("at_risk", "breached")}
    if not reached:
        return None
    recorded = set(SlaEvent.objects.filter(ticket=ticket).values_list("target", "kind"))
    return now + timedelta(seconds=1) if reached - recorded else None


# The columns of a Clock that a derivation sets (recompute and the sweep's bulk writes), with
# the ticket's columns the compliance figures group by.
CLOCK_FIELDS = [
    "calendar", "target_seconds", "started_at", "due_at", "at_risk_at", "paused",
    "stopped_at", "used_seconds", "state", "computed_at",
    "organization", "priority", "month", "counted",
]  # fmt: skip
REPORT_ZONE = ZoneInfo(settings.TIME_ZONE)


def report_month(moment):
    """The first day of the month (in TIME_ZONE) that a ticket registered at `moment` counts in."""
    return timezone.localtime(moment, REPORT_ZONE).date().replace(day=1)


def report_columns(clock, ticket):
    """Copy the ticket's columns the compliance figures need onto a Clock row."""
    clock.organization_id = ticket.organization_id
    clock.priority = ticket.priority
    clock.month = report_month(ticket.reported_at)
    clock.counted = not ticket.sla_not_applicable


def store_clocks(ticket, results, now, *, new=False):
    """Write the ticket's Clock rows from engine results in one statement (an upsert on the
    (ticket, target) key; plain INSERT for a new ticket), and drop rows of targets the results
    no longer have (a ticket's kind never changes, so only when a target is missing)."""
    clocks = []
    for r in results:
        clock = Clock(ticket=ticket, target=r.target)
        apply_result(clock, r, now)
        report_columns(clock, ticket)
        clocks.append(clock)
    if new:
        Clock.objects.bulk_create(clocks)
        remember_clocks(ticket, clocks)
        return clocks
    forget_clocks(ticket)
    if clocks:
        Clock.objects.bulk_create(
            clocks,
            update_conflicts=True,
            unique_fields=["ticket", "target"],
            update_fields=CLOCK_FIELDS,
        )
    if {r.target for r in results} != set(engine.TARGETS_BY_KIND.get(ticket.kind, ())):
        Clock.objects.filter(ticket=ticket).exclude(target__in=[r.target for r in results]).delete()
    return clocks


def remember_clocks(ticket, clocks):
    """Let `ticket.clocks.all()` answer the rows just inserted without reading them back (the
    API's create response shows them): what `prefetch_related` stores, a queryset whose result
    cache is filled."""
    rows = Clock.objects.filter(ticket=ticket).order_by("pk")
    rows._result_cache = list(clocks)
    rows._prefetch_done = True
    cache = getattr(ticket, "_prefetched_objects_cache", None)
    if cache is None:
        cache = ticket._prefetched_objects_cache = {}
    cache["clocks"] = rows


def forget_clocks(ticket):
    """Rows about to change: the next read of `ticket.clocks` goes to the database."""
    getattr(ticket, "_prefetched_objects_cache", {}).pop("clocks", None)


def recompute(ticket, now=None, *, sla=None):
    """Store the clocks derived from the ledger and move `next_sla_check_at` on (`sla`: the
    ticket's TicketSla when the caller holds it already)."""
    now = now or timezone.now()
    # No savepoint of its own inside the caller's transaction: it changes nothing on failure.
    with transaction.atomic(savepoint=False):
        if sla is None:
            sla = TicketSla.objects.filter(ticket=ticket).first()
        if sla is not None:
            Ticket.sla_terms.related.set_cached_value(ticket, sla)
        results = compute(ticket, now, terms=sla.terms if sla else {})
        store_clocks(ticket, results, now)
        write_summary(ticket, results, next_check_at(ticket, results, sla, now))
    return results


def write_summary(ticket, results, next_at):
    """Store the ticket's summary columns and next check (one UPDATE) and mirror them on the
    instance, so a later save() of it does not write stale values back."""
    columns = {"next_sla_check_at": next_at, **summary(results)}
    type(ticket).objects.filter(pk=ticket.pk).update(**columns)
    for name, value in columns.items():
        setattr(ticket, name, value)


def rebuild_summaries(ticket_model=None, clock_model=None):
    """Rebuild every ticket's summary columns from its stored clocks in one UPDATE (the data
    migration passes its historical models; `recompute_sla` calls it after recomputing)."""
    ticket_model = ticket_model or Ticket
    clock_model = clock_model or Clock
    clocks = clock_model.objects.filter(ticket=OuterRef("pk"))
    live = (
        clocks.filter(stopped_at__isnull=True, paused=False, due_at__isnull=False)
        .order_by("due_at")
        .values("due_at")[:1]
    )
    rank = Case(
        *(When(state=state, then=Value(r)) for state, r in STATE_RANK.items()),
        default=Value(-1),
    )
    worst = clocks.annotate(rank=rank).order_by("-rank").values("state")[:1]
    return ticket_model.objects.update(
        next_due_at=Subquery(live), sla_state=Coalesce(Subquery(worst), Value(""))
    )


def open_tickets_affected(*, calendar_ids=(), policy_ids=(), contract_ids=(), ticket_ids=()):
    """The open tickets a correction of these calendars, policies or contracts touches (their
    clocks run on the calendar; their terms were taken from the policy or contract), and these
    tickets themselves if still open."""
    scope = Q(pk__in=[])
    if calendar_ids:
        scope |= Q(clocks__calendar_id__in=calendar_ids)
    if policy_ids:
        scope |= Q(sla_terms__terms__policy__in=list(policy_ids))
    if contract_ids:
        scope |= Q(sla_terms__contract_id__in=contract_ids)
    if ticket_ids:
        scope |= Q(pk__in=ticket_ids)
    return Ticket.objects.exclude(status=Status.CLOSED).filter(scope).distinct()


def recompute_open(calendar_ids=None, *, progress=None, scope=None):
    """Recompute open tickets (after a policy or calendar correction); closed ones never change.
    All open tickets, those on `calendar_ids`, or those `open_tickets_affected(**scope)` names
    (the admin's "Recompute clocks" and its message after a save, through a Celery task)."""
    qs = Ticket.objects.exclude(status=Status.CLOSED).order_by("pk")
    if calendar_ids is not None:
        qs = qs.filter(clocks__calendar_id__in=calendar_ids).distinct()
    if scope is not None:
        qs = open_tickets_affected(**scope).order_by("pk")
    total = qs.count()
    for i, ticket in enumerate(qs.iterator(chunk_size=500), 1):
        with transaction.atomic():
            recompute(ticket)
        if progress:
            progress(i, total)
    return total


def ensure_default_calendars():
    """The two calendars of SPEC §2 (used by the data migration and tests)."""
    office, created = Calendar.objects.get_or_create(
        name="Kantoortijden NL", defaults={"always_open": False}
    )
    if created:
        office.hours.bulk_create([office.hours.model(calendar=office, weekday=d) for d in range(5)])
    always, _ = Calendar.objects.get_or_create(name="24/7", defaults={"always_open": True})
    return office, always


# --- next-check hooks ---------------------------------------------------------------------------
# Other apps (escalation: update reminders, auto-close, deputy fallback) add the moments at which
# they need the sweep to look at a ticket again; recompute() folds them into next_sla_check_at.
_next_check_providers = []


def register_next_check(provider):
    """`provider(ticket, now)` returns a datetime (or None) at which the sweep must look again."""
    if provider not in _next_check_providers:
        _next_check_providers.append(provider)
    return provider


def extra_check_moments(ticket, now, exclude=()):
    moments = []
    for provider in _next_check_providers:
        if provider in exclude:
            continue
        moment = provider(ticket, now)
        if moment is not None and moment > now:
            moments.append(moment)
    return moments


def move_follow_up(ticket, due_at, now=None):
    """Move the follow-up deadline of the ticket's current status (SPEC §3.2 reminders)."""
    TicketSla.objects.filter(ticket=ticket).update(follow_up_due_at=due_at)
    return recompute(ticket, now)


def file_pir(ticket, at=None):
    """The post-incident review of a P1 is filed (the reviews app): the PIR reminders stop. The
    first filing counts; returns the ticket's TicketSla (None without SLA terms)."""
    sla = TicketSla.objects.filter(ticket=ticket).first()
    if sla is None or sla.pir_filed_at is not None:
        return sla
    sla.pir_filed_at = at or timezone.now()
    sla.save(update_fields=["pir_filed_at"])
    recompute(ticket, sla=sla)
    return sla


def office_calendar_of(ticket):
    """The office-hours BusinessCalendar of the ticket's terms (working-day rules), or None.
    The terms are frozen at registration: the TicketSla a recompute of this instance held will
    do (no query)."""
    related = Ticket.sla_terms.related
    if related.is_cached(ticket):
        sla = related.get_cached_value(ticket)
    else:
        sla = TicketSla.objects.filter(ticket=ticket).first()
    return _office_calendar(sla) if sla else None


# --- agent actions on a ticket's SLA -------------------------------------------------------


@transaction.atomic
def set_sla_not_applicable(ticket: Ticket, actor, reason: str) -> Ticket:
    """Mark a ticket "SLA not applicable" (out of scope, no access): it leaves the figures."""
    require_worker(actor)
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("Say why the SLA does not apply.")})
    record_audit(
        ticket,
        actor,
        "sla_not_applicable",
        {"sla_not_applicable": [ticket.sla_not_applicable, True], "reason": reason.strip()},
    )
    ticket.sla_not_applicable = True
    ticket.sla_not_applicable_reason = reason.strip()[:300]
    ticket.save(update_fields=["sla_not_applicable", "sla_not_applicable_reason", "updated_at"])
    Clock.objects.filter(ticket=ticket).update(counted=False)  # it leaves the figures
    return ticket


@transaction.atomic
def record_no_access(ticket: Ticket, actor, start_at, end_at, note: str = "") -> None:
    """Staff had no access to the customer's premises from start to end: the clocks pause
    for that interval (SPEC §4, seed §4.7)."""
    require_worker(actor)
    now = timezone.now()
    if start_at is None or end_at is None:
        raise ValidationError({"end_at": _("Give the start and the end of the interval.")})
    validate_instants(start_at=start_at, end_at=end_at)
    if end_at <= start_at:
        raise ValidationError({"end_at": _("The end must lie after the start.")})
    if end_at > now:
        raise ValidationError({"end_at": _("Record an interval that has passed.")})
    if start_at < ticket.reported_at:
        raise ValidationError({"start_at": _("The interval cannot start before registration.")})
    append_no_access(ticket, start_at, end_at, actor=actor, note=note)
    record_audit(
        ticket,
        actor,
        "no_access",
        {"no_access": [None, f"{start_at.isoformat()} – {end_at.isoformat()}"], "note": note},
    )
