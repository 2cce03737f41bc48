"""sla.availability: the pure arithmetic of SPEC §9 (no database)."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from sla.availability import availability
from sla.businesstime import BusinessCalendar

AMS = ZoneInfo("Europe/Amsterdam")
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
OFFICE = BusinessCalendar.office_hours(tz="Europe/Amsterdam", country="NL")
ALWAYS = BusinessCalendar.always(tz="Europe/Amsterdam")


def at(*args):
    return datetime(*args, tzinfo=AMS)


DECEMBER = (at(2026, 12, 1), at(2027, 1, 1))


def test_imports_nothing_from_django():
    code = (
        "import sys, sla.availability; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_empty_month_is_fully_available():
    a = availability(OFFICE, *DECEMBER, [], [])
    # December 2026: 23 weekdays minus Christmas (Fri 25th) = 22 days of 9 hours
    assert a.scheduled == 22 * 9 * H
    assert a.downtime == timedelta(0)
    assert a.ratio == 1.0
    assert availability(ALWAYS, *DECEMBER, [], []).scheduled == 31 * 24 * H


def test_nothing_scheduled_is_ratio_one():
    saturday = (at(2026, 12, 5), at(2026, 12, 6))
    a = availability(OFFICE, *saturday, [saturday], [])
    assert a.scheduled == a.downtime == timedelta(0)
    assert a.ratio == 1.0
    assert availability(OFFICE, at(2026, 12, 2), at(2026, 12, 1), [], []).ratio == 1.0


def test_overlapping_outages_count_once():
    outages = [
        (at(2026, 12, 2, 10), at(2026, 12, 2, 12)),
        (at(2026, 12, 2, 11), at(2026, 12, 2, 13)),  # overlaps the first
        (at(2026, 12, 2, 11, 30), at(2026, 12, 2, 11, 45)),  # inside both
        (at(2026, 12, 2, 13), at(2026, 12, 2, 14)),  # touches the second
    ]
    a = availability(ALWAYS, *DECEMBER, reversed(outages), [])
    assert a.downtime == 4 * H  # 10:00–14:00
    assert a.ratio == 1 - 4 / (31 * 24)


def test_an_outage_partly_inside_announced_maintenance():
    outage = (at(2026, 12, 8, 22), at(2026, 12, 9, 2))
    maintenance = [(at(2026, 12, 8, 23), at(2026, 12, 9, 1))]  # two of the four hours
    a = availability(ALWAYS, *DECEMBER, [outage], maintenance)
    assert a.downtime == 2 * H
    # maintenance without an outage takes nothing away from the scheduled time
    assert a.scheduled == 31 * 24 * H
    # maintenance covering the whole outage: no downtime
    whole = [(at(2026, 12, 8, 20), at(2026, 12, 9, 3))]
    assert availability(ALWAYS, *DECEMBER, [outage], whole).downtime == timedelta(0)


def test_an_outage_crossing_a_month_boundary_counts_in_each_month():
    outage = (at(2026, 11, 30, 22), at(2026, 12, 1, 3))
    november = availability(ALWAYS, at(2026, 11, 1), at(2026, 12, 1), [outage], [])
    december = availability(ALWAYS, *DECEMBER, [outage], [])
    assert november.downtime == 2 * H
    assert december.downtime == 3 * H
    # on office hours the night does not count: Mon 30 Nov 22:00 → Tue 1 Dec 03:00 is closed
    assert availability(OFFICE, *DECEMBER, [outage], []).downtime == timedelta(0)


def test_office_hours_window_counts_only_open_time():
    # Friday 4 Dec 15:00 → Monday 7 Dec 10:00: 2 hours on Friday, 2 on Monday
    outage = (at(2026, 12, 4, 15), at(2026, 12, 7, 10))
    office = availability(OFFICE, *DECEMBER, [outage], [])
    always = availability(ALWAYS, *DECEMBER, [outage], [])
    assert office.downtime == 4 * H
    assert always.downtime == 67 * H
    assert office.ratio == 1 - 4 / (22 * 9)
    assert always.ratio == 1 - 67 / (31 * 24)


def test_a_dst_weekend():
    # Summer time starts Sunday 29 March 2026 02:00 → 03:00: that night has 23 hours
    weekend = (at(2026, 3, 28), at(2026, 3, 30))
    assert availability(ALWAYS, *weekend, [], []).scheduled == 47 * H
    outage = (at(2026, 3, 29, 1), at(2026, 3, 29, 4))  # wall clock 3 h, real 2 h
    assert availability(ALWAYS, *weekend, [outage], []).downtime == 2 * H
    # office hours: the weekend is closed, Monday counts 08:00–17:00 CEST
    monday = (at(2026, 3, 30, 7), at(2026, 3, 30, 9))
    assert availability(OFFICE, at(2026, 3, 1), at(2026, 4, 1), [outage, monday], []).downtime == H
    # winter time (25 October 2026): that night has 25 hours
    october = availability(ALWAYS, at(2026, 10, 1), at(2026, 11, 1), [], [])
    assert october.scheduled == (31 * 24 + 1) * H


def test_a_holiday_is_no_office_time():
    # King's Day, Monday 27 April 2026: closed on office hours, open 24/7
    outage = (at(2026, 4, 27, 9), at(2026, 4, 27, 12))
    april = (at(2026, 4, 1), at(2026, 5, 1))
    office = availability(OFFICE, *april, [outage], [])
    assert office.downtime == timedelta(0)
    # 22 weekdays; Good Friday (3rd), Easter Monday (6th) and King's Day closed
    assert office.scheduled == 19 * 9 * H
    assert availability(ALWAYS, *april, [outage], []).downtime == 3 * H


def test_outages_reaching_outside_the_period_are_clipped():
    outage = (at(2026, 11, 1), at(2027, 2, 1))  # the whole month and more
    a = availability(ALWAYS, *DECEMBER, [outage], [(at(2026, 12, 31, 23), at(2027, 1, 5))])
    assert a.downtime == (31 * 24 - 1) * H
    # an empty or reversed pair covers nothing; other zones are the same instants
    utc = (datetime(2026, 12, 2, 9, tzinfo=UTC), datetime(2026, 12, 2, 10, tzinfo=UTC))
    pairs = [utc, (at(2026, 12, 3, 10), at(2026, 12, 3, 9)), (at(2026, 12, 3), at(2026, 12, 3))]
    assert availability(ALWAYS, *DECEMBER, pairs, []).downtime == H


def _minute_reference(window, start, end, outages, maintenance):
    """Step the period minute by minute (outages and maintenance on whole minutes)."""
    down = scheduled = 0
    t, end = start.astimezone(UTC), end.astimezone(UTC)  # real minutes, not wall-clock ones
    while t < end:
        if window.is_open(t):
            scheduled += 1
            covered = any(a <= t < b for a, b in outages)
            held = any(a <= t < b for a, b in maintenance)
            down += covered and not held
        t += MIN
    return scheduled * MIN, down * MIN


_minutes = st.integers(min_value=-24 * 60, max_value=4 * 24 * 60)
_pairs = st.lists(st.tuples(_minutes, st.integers(min_value=-60, max_value=36 * 60)), max_size=4)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(outages=_pairs, maintenance=_pairs, office=st.booleans())
def test_agrees_with_a_minute_by_minute_count(outages, maintenance, office):
    start, end = at(2026, 10, 23, 12), at(2026, 10, 27, 12)  # over the October DST change
    window = OFFICE if office else ALWAYS

    def pairs(raw):
        return [(start + s * MIN, start + (s + length) * MIN) for s, length in raw]

    o, m = pairs(outages), pairs(maintenance)
    a = availability(window, start, end, o, m)
    scheduled, down = _minute_reference(window, start, end, o, m)
    assert (a.scheduled, a.downtime) == (scheduled, down)
    assert 0.0 <= a.ratio <= 1.0
