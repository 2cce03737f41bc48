"""Clocks as a pure function of a ticket's ledger (no Django imports).

`compute(events, terms, calendars, now)` returns one `ClockResult` per target. The same ledger
and terms always give the same due times; `now` only decides the live state and time used.

Ledger events (sorted by time): registered, responded, paused (until?), resumed, no_access
(at..until), workaround (stops restore), resolved (data.resolution_type), reopened, closed,
priority (data.priority), calendar, and the change steps: quote_notice (data.due?: the announced
date the quote moves to), quote_sent, quote_waived. A clock counts business time on its calendar
from its start, minus pauses, no-access intervals and the periods in which it was stopped.

A change also has step clocks (seed §5.2.2), from receipt, on the calendars its terms name
(`terms["steps"]`): `quote_notice` (3 working days of the office calendar, stopped by the notice
or the quote) and `quote` (10 calendar days, or the announced date; stopped by the quote). A
change that needs no quote (standard, or approved without one) waives both: they disappear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

FAR = datetime.max.replace(tzinfo=None)

RESPONSE, RESTORE, RESOLUTION, PICKUP = "response", "restore", "resolution", "pickup"
QUOTE_NOTICE, QUOTE = "quote_notice", "quote"
STEP_TARGETS = (QUOTE_NOTICE, QUOTE)
TARGETS_BY_KIND = {
    "incident": (RESPONSE, RESTORE, RESOLUTION),
    "change": (PICKUP, *STEP_TARGETS),
    # No "problem": a problem is provider-internal (SPEC §7); the SLA promises customers
    # response and resolution of their incidents, not of the provider's root-cause work.
}
# What stops a change's step clock (besides "closed").
STEP_STOPS = {QUOTE_NOTICE: ("quote_notice", "quote_sent"), QUOTE: ("quote_sent",)}


@dataclass(frozen=True)
class Event:
    kind: str
    at: datetime
    until: datetime | None = None
    data: dict = field(default_factory=dict)


@dataclass
class Segment:
    start: datetime
    end: datetime | None  # None: open-ended
    counted: bool
    reason: str = ""


@dataclass
class ClockResult:
    target: str
    calendar_id: int
    target_seconds: int
    started_at: datetime | None
    due_at: datetime | None
    at_risk_at: datetime | None
    paused: bool
    stopped_at: datetime | None
    used_seconds: int
    state: str
    segments: list[Segment]


def current_priority(events, default):
    priority = default
    for e in events:
        if e.kind in ("registered", "priority") and "priority" in e.data:
            priority = int(e.data["priority"])
    return priority


def _first(events, kind):
    return next((e for e in events if e.kind == kind), None)


def _stop_intervals(events, target):
    """[stop, resume) periods in which this target's clock stood still."""
    out, stopped_at = [], None
    for e in events:
        stops = (
            (target in (RESPONSE, PICKUP) and e.kind == "responded")
            # A workaround restores the service (SPEC §4: the emergency scenario) ...
            or (target == RESTORE and e.kind in ("resolved", "workaround"))
            # ... the definitive fix resolves it. ("temporary" resolutions are the history of
            # before the workaround action: they never stopped the resolution clock.)
            or (
                target == RESOLUTION
                and e.kind == "resolved"
                and e.data.get("resolution_type") != "temporary"
            )
            or e.kind in STEP_STOPS.get(target, ())
            or e.kind == "closed"
        )
        if stops and stopped_at is None:
            stopped_at = e.at
        elif (
            e.kind == "reopened"
            and stopped_at is not None
            and target not in (RESPONSE, PICKUP, *STEP_TARGETS)
        ):
            out.append((stopped_at, e.at, "stopped"))
            stopped_at = None
    if stopped_at is not None:
        out.append((stopped_at, None, "stopped"))
    return out


def _pause_intervals(events):
    out, open_pause = [], None
    for e in events:
        if e.kind == "paused":
            if open_pause is not None:  # a new pause replaces the open one
                out.append((open_pause.at, e.at, open_pause.data.get("reason", "paused")))
            open_pause = e
        elif e.kind == "resumed" and open_pause is not None:
            end = e.at if open_pause.until is None else min(e.at, open_pause.until)
            out.append((open_pause.at, end, open_pause.data.get("reason", "paused")))
            open_pause = None
        elif e.kind == "no_access" and e.until is not None:
            out.append((e.at, e.until, "no_access"))
    if open_pause is not None:
        out.append((open_pause.at, open_pause.until, open_pause.data.get("reason", "paused")))
    return out


def _segments(start, holds):
    """Split [start, ∞) into counted and held segments; holds are (start, end|None, reason)."""
    holds = sorted(
        ((max(a, start), b, r) for a, b, r in holds if b is None or b > start),
        key=lambda h: h[0],
    )
    segments, cursor = [], start
    for a, b, reason in holds:
        if cursor is None:
            break
        if a > cursor:
            segments.append(Segment(cursor, a, True))
            cursor = a
        if b is None:
            segments.append(Segment(cursor, None, False, reason))
            cursor = None
        elif b > cursor:
            segments.append(Segment(cursor, b, False, reason))
            cursor = b
    if cursor is not None:
        segments.append(Segment(cursor, None, True))
    return segments


def _reach(cal, segments, seconds):
    """The instant at which the counted time reaches `seconds` (None if it never does)."""
    remaining = timedelta(seconds=seconds)
    for seg in segments:
        if not seg.counted:
            continue
        if seg.end is None:
            return cal.add(seg.start, remaining)
        span = cal.elapsed(seg.start, seg.end)
        if remaining <= span:
            return cal.add(seg.start, remaining)
        remaining -= span
    return None


def _used(cal, segments, now):
    total = timedelta(0)
    for seg in segments:
        if not seg.counted or seg.start >= now:
            continue
        end = now if seg.end is None else min(seg.end, now)
        total += cal.elapsed(seg.start, end)
    return int(total.total_seconds())


def target_seconds(cal, spec, start):
    """A target spec {"unit", "amount"} as business seconds on `cal` for a clock starting at
    `start` (working days and "same working day" depend on where the clock starts)."""
    unit, amount = spec["unit"], int(spec["amount"])
    if unit == "minutes":
        return amount * 60
    opened = cal.next_open(start)
    if unit == "working_days":
        return int(cal.elapsed(opened, cal.add_working_days(opened, amount)).total_seconds())
    if unit == "end_of_day":
        local = opened.astimezone(cal.zone)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return int(cal.elapsed(start, midnight).total_seconds())
    raise ValueError(f"unknown unit {unit!r}")


def _clock(target, calendar_id, cal, secs, start, holds, stops, share, now):
    """One clock from its start, target and the intervals in which it does not count."""
    segments = _segments(start, holds + stops)
    last = segments[-1]
    stopped_at = last.start if (not last.counted and last.reason == "stopped") else None
    paused = not last.counted and stopped_at is None and last.start <= now
    # A stopped clock keeps the deadline it had: reach the target as if it ran on.
    open_stop = stops[-1] if stops and stops[-1][1] is None else None
    running = _segments(start, holds + stops[:-1]) if open_stop else segments
    due = _reach(cal, running, secs)
    at_risk = _reach(cal, running, int(secs * share))
    used = _used(cal, segments, now if stopped_at is None else min(now, stopped_at))
    if stopped_at is not None and stopped_at <= now:
        state = "met" if used <= secs else "breached"
    elif used > secs or (due is not None and now >= due):
        state = "breached"
    elif used >= secs * share or (at_risk is not None and now >= at_risk):
        state = "at_risk"
    else:
        state = "pending"
    return ClockResult(
        target, calendar_id, secs, start, due, at_risk, paused, stopped_at, used, state, segments
    )


def calendar_days_later(start, days, zone):
    """The same wall-clock time `days` calendar days after `start` in `zone` (DST-proof)."""
    local = start.astimezone(zone)
    return (local.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=zone)


def _announced_due(events):
    """The date the provider announced for the quote (the last quote notice that named one)."""
    due = None
    for e in events:
        if e.kind == "quote_notice" and e.data.get("due"):
            due = datetime.fromisoformat(e.data["due"])
    return due


def _step_clocks(events, terms, calendars, now, start, pauses, share):
    """A change's step clocks (seed §5.2.2), unless waived."""
    steps = terms.get("steps") or {}
    if not steps or any(e.kind == "quote_waived" for e in events):
        return []
    results = []
    for target in STEP_TARGETS:
        spec = steps.get(target)
        if spec is None:
            continue
        cal = calendars(spec["calendar"])
        if target == QUOTE and (announced := _announced_due(events)) is not None:
            secs = int(cal.elapsed(start, max(announced, start)).total_seconds())
        elif spec["unit"] == "calendar_days":
            due = calendar_days_later(start, int(spec["amount"]), cal.zone)
            secs = int(cal.elapsed(start, due).total_seconds())
        else:
            secs = target_seconds(cal, spec, start)
        stops = _stop_intervals(events, target)
        results.append(
            _clock(target, spec["calendar"], cal, secs, start, pauses, stops, share, now)
        )
    return results


def compute(kind, events, terms, calendars, now):
    """Derive every clock of a ticket from its ledger and terms, as of `now`."""
    events = sorted(events, key=lambda e: e.at)
    registered = _first(events, "registered")
    if registered is None:
        return []
    priority = current_priority(events, terms.get("priority", 3))
    pterms = terms["priorities"].get(str(priority))
    if pterms is None:
        return []
    share = float(terms.get("at_risk_share", 0.75))
    responded = _first(events, "responded")
    pauses = _pause_intervals(events)
    results = []
    for target in TARGETS_BY_KIND.get(kind, ()):
        spec = pterms["targets"].get(target)
        if spec is None:
            continue
        calendar_id = spec.get("calendar") or pterms["calendar"]
        cal = calendars(calendar_id)
        start = (
            registered.at if target in (RESPONSE, PICKUP) else (responded.at if responded else None)
        )
        if start is None:  # restore and resolution start at the response (SPEC §4)
            secs = target_seconds(cal, spec, registered.at)
            results.append(
                ClockResult(
                    target, calendar_id, secs, None, None, None, False, None, 0, "pending", []
                )
            )
            continue
        secs = target_seconds(cal, spec, start)
        stops = _stop_intervals(events, target)
        results.append(_clock(target, calendar_id, cal, secs, start, pauses, stops, share, now))
    if kind == "change":
        results += _step_clocks(events, terms, calendars, now, registered.at, pauses, share)
    return results


def next_check(results, now):
    """The earliest future moment at which a clock's state can change."""
    moments = []
    for r in results:
        if r.stopped_at is not None and r.stopped_at <= now:
            continue
        if r.state == "pending" and r.at_risk_at and r.at_risk_at > now:
            moments.append(r.at_risk_at)
        if r.state in ("pending", "at_risk") and r.due_at and r.due_at > now:
            moments.append(r.due_at)
        for seg in r.segments:
            if not seg.counted and seg.end is not None and seg.end > now:
                moments.append(seg.end)
    return min(moments) if moments else None


__all__ = ["FAR", "ClockResult", "Event", "Segment", "compute", "next_check", "target_seconds"]
