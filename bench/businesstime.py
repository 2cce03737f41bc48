"""Benchmark and cross-check of sla.businesstime.BusinessCalendar.

Run as ``python bench/businesstime.py [--cases N]``.  In one run it:

1. times ``add`` and ``elapsed`` (ops/sec) of
   * ours: ``BusinessCalendar.office_hours`` (08:00-17:00 Mon-Fri, NL
     holidays, Europe/Amsterdam);
   * the ``businesstimedelta`` package, configured equivalently
     (``WorkDayRule`` 08:00-17:00 Mon-Fri + ``HolidayRule`` with the NL
     holidays from ``holidays``, both with the pytz Europe/Amsterdam zone);
   * a minute-stepping reference written here, which walks a per-minute open
     bitmap one minute at a time;
   * the prefix-sum form of that reference (the same bitmap, summed, with
     ``bisect``), used for the full agreement check;
2. checks ours against the reference on ``--cases`` random cases (starts
   uniform in 2025-2027 in whole minutes, durations 30 min - 120 h in whole
   minutes) for ``add`` and ``elapsed``, and prints the disagreements.

The reference shares no logic with ours: its bitmap says, for every UTC
minute from local 2024-12-01 to local 2029-01-01, whether that minute is open,
by converting the minute to Amsterdam wall-clock time with zoneinfo and
checking weekday, holiday (the ``holidays`` package) and 8 <= hour < 17.
Exits 1 if ours disagrees with the reference.
"""

from __future__ import annotations

import argparse
import random
import sys
import time as clock
from bisect import bisect_left
from datetime import UTC, datetime, time, timedelta
from itertools import accumulate
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import holidays  # noqa: E402
import pytz  # noqa: E402

from sla.businesstime import BusinessCalendar  # noqa: E402

ZONE_NAME = "Europe/Amsterdam"
ZONE = ZoneInfo(ZONE_NAME)
REF_FIRST = datetime(2024, 12, 1, tzinfo=ZONE)  # bitmap: Dec 2024 - 2028
REF_END = datetime(2029, 1, 1, tzinfo=ZONE)
CASE_FIRST = datetime(2025, 1, 1, tzinfo=ZONE)  # random starts in 2025-2027
CASE_END = datetime(2028, 1, 1, tzinfo=ZONE)


# -- independent minute-bitmap reference ----------------------------------------


class MinuteReference:
    """Office hours 08:00-17:00 Mon-Fri local, NL holidays closed, per minute."""

    def __init__(self) -> None:
        self.base = int(REF_FIRST.timestamp())  # a whole minute in UTC too
        minutes = (int(REF_END.timestamp()) - self.base) // 60
        closed_days = set(holidays.country_holidays("NL", years=range(2024, 2030)))
        bitmap = bytearray(minutes)
        base = self.base
        fromtimestamp = datetime.fromtimestamp
        for m in range(minutes):
            local = fromtimestamp(base + 60 * m, ZONE)
            if local.weekday() < 5 and 8 <= local.hour < 17 and local.date() not in closed_days:
                bitmap[m] = 1
        self.bitmap = bitmap
        self.prefix = list(accumulate(bitmap, initial=0))  # prefix[m] = open before m

    def minute(self, dt: datetime) -> int:
        m, rest = divmod(int(dt.timestamp()) - self.base, 60)
        if rest or not 0 <= m < len(self.bitmap):
            raise ValueError(f"{dt} is not a whole minute inside the reference range")
        return m

    def instant(self, m: int) -> datetime:
        return datetime.fromtimestamp(self.base + 60 * m, UTC)

    # minute stepping ---------------------------------------------------------

    def step_add(self, start: datetime, minutes: int) -> datetime:
        bitmap = self.bitmap
        m = self.minute(start)
        while minutes:
            if bitmap[m]:
                minutes -= 1
            m += 1
        return self.instant(m)

    def step_elapsed(self, start: datetime, end: datetime) -> int:
        a, b = self.minute(start), self.minute(end)
        sign = 1
        if b < a:
            a, b, sign = b, a, -1
        bitmap = self.bitmap
        total = 0
        for m in range(a, b):
            if bitmap[m]:
                total += 1
        return sign * total

    # prefix sums ---------------------------------------------------------------

    def add(self, start: datetime, minutes: int) -> datetime:
        m = self.minute(start)
        if not minutes:
            return self.instant(m)
        # earliest minute boundary with exactly `minutes` open minutes since start
        return self.instant(bisect_left(self.prefix, self.prefix[m] + minutes))

    def elapsed(self, start: datetime, end: datetime) -> int:
        return self.prefix[self.minute(end)] - self.prefix[self.minute(start)]


# -- businesstimedelta ------------------------------------------------------------


def make_businesstimedelta():
    import businesstimedelta as btd

    tz = pytz.timezone(ZONE_NAME)
    workday = btd.WorkDayRule(
        start_time=time(8), end_time=time(17), working_days=[0, 1, 2, 3, 4], tz=tz
    )
    nl = holidays.country_holidays("NL", years=range(2024, 2030))
    rules = btd.Rules([workday, btd.HolidayRule(nl, tz=tz)])

    def add(start, duration):
        return start + btd.BusinessTimeDelta(rules, timedelta=duration)

    def elapsed(start, end):
        return rules.difference(start, end).timedelta

    return tz, add, elapsed


# -- helpers -----------------------------------------------------------------------


def utc(dt: datetime) -> datetime:
    """Compare instants in UTC: aware datetimes in different zones never compare
    equal when one is the second (fold=1) occurrence of a repeated wall time."""
    return dt.astimezone(UTC)


def rate(fn, args, repeat: int = 3) -> float:
    """Best-of-`repeat` calls per second of fn(*a) over the argument tuples."""
    best = float("inf")
    for _ in range(repeat):
        t0 = clock.perf_counter()
        for a in args:
            fn(*a)
        best = min(best, clock.perf_counter() - t0)
    return len(args) / best


def make_cases(rng: random.Random, n: int):
    lo, hi = int(CASE_FIRST.timestamp()) // 60, int(CASE_END.timestamp()) // 60
    cases = []
    for _ in range(n):
        start = datetime.fromtimestamp(60 * rng.randrange(lo, hi), ZONE)
        duration = timedelta(minutes=rng.randint(30, 120 * 60))
        end = start + timedelta(minutes=rng.randint(-14 * 24 * 60, 14 * 24 * 60))
        end = end.astimezone(UTC).astimezone(ZONE)  # real-time offset, in the zone
        cases.append((start, duration, end))
    return cases


def dst_cases():
    """Starts around every DST change of 2025-2027 (Fri/Sat/Sun/Mon, 15:00-18:00)."""
    out = []
    for year in (2025, 2026, 2027):
        for month in (3, 10):
            last = datetime(year, month, 31)
            sunday = last - timedelta(days=(last.weekday() + 1) % 7)
            for day_shift in (-2, -1, 0, 1):
                for hour in (0, 2, 3, 8, 15, 16, 17, 18):
                    wall = (sunday + timedelta(days=day_shift)).replace(hour=hour)
                    start = wall.replace(tzinfo=ZONE)
                    for minutes in (30, 60, 61, 540, 600, 2000):
                        out.append((start, timedelta(minutes=minutes)))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="agreement cases")
    parser.add_argument("--bt-cases", type=int, default=2_000, help="businesstimedelta timing")
    parser.add_argument("--step-cases", type=int, default=1_000, help="minute stepping timing")
    parser.add_argument("--seed", type=int, default=20260329)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    t0 = clock.perf_counter()
    ref = MinuteReference()
    print(f"reference bitmap minutes: {len(ref.bitmap)}")
    print(f"reference setup seconds: {clock.perf_counter() - t0:.2f}")

    ours = BusinessCalendar.office_hours(tz=ZONE_NAME, country="NL")
    bt_tz, bt_add, bt_elapsed = make_businesstimedelta()

    cases = make_cases(rng, args.cases)
    add_args = [(s, d) for s, d, _ in cases]
    elapsed_args = [(s, e) for s, _, e in cases]
    elapsed_fwd = [(min(s, e), max(s, e)) for s, e in elapsed_args]
    ours.add(*add_args[0])  # build the lazily computed years outside the timing

    print(f"cases: {len(cases)}")
    ours_add = rate(ours.add, add_args)
    ours_elapsed = rate(ours.elapsed, elapsed_args)
    print(f"ours add ops/sec: {ours_add:,.0f}")
    print(f"ours elapsed ops/sec: {ours_elapsed:,.0f}")

    bt_sample = [
        (s.astimezone(bt_tz), d, a.astimezone(bt_tz), b.astimezone(bt_tz))
        for (s, d), (a, b) in zip(
            add_args[: args.bt_cases], elapsed_fwd[: args.bt_cases], strict=True
        )
    ]
    bt_add_rate = rate(bt_add, [(s, d) for s, d, _, _ in bt_sample], repeat=1)
    bt_elapsed_rate = rate(bt_elapsed, [(a, b) for _, _, a, b in bt_sample], repeat=1)
    print(f"businesstimedelta timing cases: {len(bt_sample)}")
    print(f"businesstimedelta add ops/sec: {bt_add_rate:,.0f}")
    print(f"businesstimedelta elapsed ops/sec: {bt_elapsed_rate:,.0f}")

    step_sample = cases[: args.step_cases]
    step_add_rate = rate(
        lambda s, d: ref.step_add(s, d // timedelta(minutes=1)),
        [(s, d) for s, d, _ in step_sample],
        repeat=1,
    )
    step_elapsed_rate = rate(ref.step_elapsed, [(s, e) for s, _, e in step_sample], repeat=1)
    print(f"minute-stepping reference timing cases: {len(step_sample)}")
    print(f"minute-stepping reference add ops/sec: {step_add_rate:,.0f}")
    print(f"minute-stepping reference elapsed ops/sec: {step_elapsed_rate:,.0f}")

    prefix_add_rate = rate(lambda s, d: ref.add(s, d // timedelta(minutes=1)), add_args, repeat=1)
    prefix_elapsed_rate = rate(ref.elapsed, elapsed_args, repeat=1)
    print(f"prefix-sum reference add ops/sec: {prefix_add_rate:,.0f}")
    print(f"prefix-sum reference elapsed ops/sec: {prefix_elapsed_rate:,.0f}")

    print(f"speed-up ours/businesstimedelta add: {ours_add / bt_add_rate:,.1f}x")
    print(f"speed-up ours/businesstimedelta elapsed: {ours_elapsed / bt_elapsed_rate:,.1f}x")

    # -- agreement -------------------------------------------------------------
    minute = timedelta(minutes=1)
    add_bad = elapsed_bad = 0
    for s, d, e in cases:
        if utc(ours.add(s, d)) != ref.add(s, d // minute):
            add_bad += 1
        if ours.elapsed(s, e) != ref.elapsed(s, e) * minute:
            elapsed_bad += 1
    step_bad = 0
    for s, d, e in step_sample:
        expected_add = ref.step_add(s, d // minute)
        expected_elapsed = ref.step_elapsed(s, e)
        if expected_add != ref.add(s, d // minute) or expected_elapsed != ref.elapsed(s, e):
            step_bad += 1
        if utc(ours.add(s, d)) != expected_add or ours.elapsed(s, e) != expected_elapsed * minute:
            step_bad += 1
    print(f"disagreements ours vs reference add: {add_bad}")
    print(f"disagreements ours vs reference elapsed: {elapsed_bad}")
    print(f"disagreements minute-stepping vs prefix-sum vs ours: {step_bad}")

    bt_bad = 0
    for s, d, a, b in bt_sample:
        if utc(bt_add(s, d)) != ref.add(s, d // minute):
            bt_bad += 1
        if bt_elapsed(a, b) != ref.elapsed(a, b) * minute:
            bt_bad += 1
    print(f"disagreements businesstimedelta vs reference (random sample): {bt_bad}")
    dst = dst_cases()
    dst_ours = dst_bt = 0
    for s, d in dst:
        expected = ref.add(s, d // minute)
        dst_ours += utc(ours.add(s, d)) != expected
        dst_bt += utc(bt_add(s.astimezone(bt_tz), d)) != expected
        end = s + d * 3
        expected_elapsed = ref.elapsed(s, end) * minute
        dst_ours += ours.elapsed(s, end) != expected_elapsed
        dst_bt += bt_elapsed(s.astimezone(bt_tz), end.astimezone(bt_tz)) != expected_elapsed
    print(f"DST-weekend cases: {len(dst)}")
    print(f"disagreements ours vs reference (DST weekends): {dst_ours}")
    print(f"disagreements businesstimedelta vs reference (DST weekends): {dst_bt}")

    ok = add_bad == elapsed_bad == step_bad == dst_ours == 0
    print(f"targets: ours add >= 200,000 ops/sec: {'yes' if ours_add >= 200_000 else 'NO'}")
    print(f"targets: >= 50x businesstimedelta: {'yes' if ours_add / bt_add_rate >= 50 else 'NO'}")
    print(f"result: {'OK' if ok else 'DISAGREEMENT'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
