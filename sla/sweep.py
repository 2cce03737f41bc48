"""The SLA sweep (DESIGN §2 step 3): evaluate the tickets whose `next_sla_check_at` has come.

Celery beat runs it every minute (`sla.tasks.sweep`). It selects due tickets through the partial
index `ticket_next_sla_check`, in bounded batches, each batch in its own transaction with the
rows locked (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so two sweeps running at the same
time share the work instead of doing it twice). Evaluating a ticket recomputes its clocks,
records the SLA events it reached (at risk, breached, met; unique per ticket/target/kind), sends
them (`sla_event_reached`) and `ticket_evaluated` to the apps above (escalation raises, reminds),
and moves `next_sla_check_at` past `now`, so every due ticket is evaluated once per sweep and its
cost grows with the due tickets only.
"""

import logging
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from tickets.models import Ticket

from . import calendars, engine, services, signals
from .models import Clock, ClockEvent, ClockState, SlaEvent, TicketSla

log = logging.getLogger(__name__)

# A ticket whose evaluation leaves it due (a provider returned the past) is looked at again later.
RETRY_AFTER = timedelta(minutes=1)


# Context managers entered around a whole sweep (escalation: read the active triggers once).
_sweep_contexts = []


def register_sweep_context(factory):
    """`factory()` returns a context manager that the sweep enters around its batches."""
    if factory not in _sweep_contexts:
        _sweep_contexts.append(factory)
    return factory


@dataclass
class SweepResult:
    evaluated: int = 0
    batches: int = 0
    events: list = field(default_factory=list)


def due_tickets(now, batch_size):
    """One batch of due tickets, locked for this transaction (skipping rows others hold)."""
    qs = Ticket.objects.filter(next_sla_check_at__lte=now).order_by("next_sla_check_at")
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return list(qs[:batch_size])


def reached(result, now):
    """The SLA event kinds a clock result has reached as of `now`, with their moments."""
    out = []
    running = result.stopped_at is None or result.stopped_at > now
    if result.state == ClockState.AT_RISK or (result.state == ClockState.BREACHED and running):
        # A late sweep that finds a running clock already breached still records (and
        # escalates) the at-risk moment it passed on the way: late never means lost.
        out.append((SlaEvent.Kind.AT_RISK, result.at_risk_at or now))
    if result.state == ClockState.BREACHED:
        out.append((SlaEvent.Kind.BREACHED, result.due_at or now))
    if result.state == ClockState.MET:
        out.append((SlaEvent.Kind.MET, result.stopped_at or now))
    return out


def record_events(ticket, results, now):
    """Record the events the clocks reached that are not recorded yet; return the new ones."""
    known = set(SlaEvent.objects.filter(ticket=ticket).values_list("target", "kind"))
    new = []
    for result in results:
        for kind, at in reached(result, now):
            if (result.target, kind) in known:
                continue
            event, created = SlaEvent.objects.get_or_create(
                ticket=ticket, target=result.target, kind=kind, defaults={"at": min(at, now)}
            )
            if created:
                new.append(event)
    return new


def evaluate(ticket, now):
    """Evaluate one (locked) ticket; returns the SLA events it newly reached."""
    results = services.recompute(ticket, now)
    events = record_events(ticket, results, now)
    _after_evaluation(ticket, events, now, terms=None)
    return events


def _after_evaluation(ticket, events, now, terms, ledger=None):
    """Shared tail of `evaluate` and `evaluate_batch`: tell the apps above what was reached
    (with the ticket's ledger when the batch read it already), recompute when a reminder moved
    the clocks, and never leave the ticket due."""
    for event in events:
        signals.sla_event_reached.send(Ticket, ticket=ticket, event=event, now=now, ledger=ledger)
    answers = signals.ticket_evaluated.send(Ticket, ticket=ticket, now=now, terms=terms)
    if any(changed for _receiver, changed in answers):
        services.recompute(ticket, now)
    if ticket.next_sla_check_at is not None and ticket.next_sla_check_at <= now:
        ticket.next_sla_check_at = now + RETRY_AFTER
        Ticket.objects.filter(pk=ticket.pk).update(next_sla_check_at=ticket.next_sla_check_at)


CLOCK_FIELDS = services.CLOCK_FIELDS


def bulk_set(model, objs, fields):
    """UPDATE many rows with their own values: one `UPDATE … FROM unnest(arrays)` on
    PostgreSQL (the ORM's CASE WHEN per row costs more to build than to run), bulk_update
    elsewhere."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields, batch_size=500)
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    qn = connection.ops.quote_name
    arrays = [[o.pk for o in objs]] + [
        [getattr(o, f.attname) for o in objs] for f in columns
    ]  # fmt: skip
    casts = [f"%s::{meta.pk.db_type(connection)}[]"] + [
        f"%s::{f.db_type(connection)}[]" for f in columns
    ]  # fmt: skip
    names = ["id"] + [f"c{i}" for i in range(len(columns))]
    sets = ", ".join(f"{qn(f.column)} = v.c{i}" for i, f in enumerate(columns))
    sql = (
        f"UPDATE {qn(meta.db_table)} AS t SET {sets} "  # noqa: S608 - names from the model
        f"FROM unnest({', '.join(casts)}) AS v({', '.join(names)}) "
        f"WHERE t.{qn(meta.pk.column)} = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)


@dataclass
class _BatchData:
    """What evaluating a batch reads, in a constant number of queries."""

    terms: dict
    ledger: dict
    stored: dict
    known: set


def _load(ids) -> _BatchData:
    ledger = defaultdict(list)
    for e in ClockEvent.objects.filter(ticket_id__in=ids).order_by("at", "pk"):
        ledger[e.ticket_id].append(engine.Event(e.kind, e.at, e.until, e.data))
    stored = defaultdict(dict)
    for clock in Clock.objects.filter(ticket_id__in=ids):
        stored[clock.ticket_id][clock.target] = clock
    return _BatchData(
        terms={s.ticket_id: s for s in TicketSla.objects.filter(ticket_id__in=ids)},
        ledger=ledger,
        stored=stored,
        known=set(
            SlaEvent.objects.filter(ticket_id__in=ids).values_list("ticket_id", "target", "kind")
        ),
    )


def _recompute_clocks(tickets, data: _BatchData, now):
    """Derive every ticket's clocks from its ledger and write them in bulk; returns (results per
    ticket, new SLA events per ticket), the events recorded."""
    changed, created, stale, new_events = [], [], [], defaultdict(list)
    results_of = {}
    for ticket in tickets:
        sla = data.terms.get(ticket.pk)
        results = services.compute(
            ticket, now, events=data.ledger[ticket.pk], terms=sla.terms if sla else {}
        )
        results_of[ticket.pk] = results
        existing = data.stored[ticket.pk]
        for r in results:
            clock = existing.pop(r.target, None)
            if clock is None:
                clock = Clock(ticket=ticket, target=r.target)
                created.append(clock)
            else:
                changed.append(clock)
            services.apply_result(clock, r, now)
            services.report_columns(clock, ticket)
            for kind, at in reached(r, now):
                if (ticket.pk, r.target, kind) not in data.known:
                    new_events[ticket.pk].append(
                        SlaEvent(ticket=ticket, target=r.target, kind=kind, at=min(at, now))
                    )
        stale += existing.values()
    bulk_set(Clock, changed, CLOCK_FIELDS)
    Clock.objects.bulk_create(created, batch_size=1000)
    if stale:
        Clock.objects.filter(pk__in=[c.pk for c in stale]).delete()
    # The rows are locked by this transaction and only the sweep records events: none conflict.
    SlaEvent.objects.bulk_create(
        [e for evs in new_events.values() for e in evs], batch_size=1000, ignore_conflicts=True
    )
    return results_of, new_events


def _move_next_checks(tickets, terms, results_of, now):
    """Each ticket's next check (its clocks, follow-up and PIR, the providers' moments) and its
    SLA summary columns, in one bulk UPDATE."""
    for ticket in tickets:
        results = results_of[ticket.pk]
        # Every event reached is recorded above, so the "unrecorded events" check is moot.
        ticket.next_sla_check_at = services.next_check_at(
            ticket, results, terms.get(ticket.pk), now, events_recorded=True
        )
        for name, value in services.summary(results).items():
            setattr(ticket, name, value)
    bulk_set(Ticket, tickets, ["next_sla_check_at", *services.SUMMARY_FIELDS])


def evaluate_batch(tickets, now):
    """The fast path: evaluate a locked batch with a constant number of queries for the clocks
    (what `services.recompute` does per ticket, from the same pure `services.compute`), then
    tell the apps above per ticket. Returns the new SLA events."""
    data = _load([t.pk for t in tickets])
    results_of, new_events = _recompute_clocks(tickets, data, now)
    _move_next_checks(tickets, data.terms, results_of, now)
    for ticket in tickets:
        _after_evaluation(
            ticket,
            new_events.get(ticket.pk, ()),
            now,
            terms=data.terms.get(ticket.pk),
            ledger=data.ledger[ticket.pk],
        )
    return [e for evs in new_events.values() for e in evs]


def sweep(now=None, batch_size=500, max_batches=None):
    """Evaluate every ticket due at `now`, `batch_size` per transaction."""
    now = now or timezone.now()
    result = SweepResult()
    with scopes_disabled(), ExitStack() as stack:  # a system job across all tenants
        for factory in _sweep_contexts:
            stack.enter_context(factory())
        _sweep(now, batch_size, max_batches, result)
        signals.sweep_finished.send(Ticket, now=now)
    return result


def _evaluate_one_by_one(batch, now, result):
    """The careful path: each ticket in its own savepoint, so one broken ticket is logged and
    moved on without stopping the others."""
    for ticket in batch:
        try:
            with transaction.atomic():
                result.events += evaluate(ticket, now)
        except Exception:
            log.exception("SLA sweep: evaluating ticket %s failed", ticket.pk)
            Ticket.objects.filter(pk=ticket.pk).update(next_sla_check_at=now + RETRY_AFTER)


def _sweep(now, batch_size, max_batches, result):
    while max_batches is None or result.batches < max_batches:
        with transaction.atomic(), calendars.pinned():
            batch = due_tickets(now, batch_size)
            try:
                with transaction.atomic():
                    result.events += evaluate_batch(batch, now)
            except Exception:
                log.warning("SLA sweep: batch failed, evaluating ticket by ticket", exc_info=True)
                for ticket in batch:
                    ticket.refresh_from_db()
                _evaluate_one_by_one(batch, now, result)
            result.evaluated += len(batch)
        result.batches += 1
        if len(batch) < batch_size:
            break
