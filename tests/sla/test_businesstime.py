"""Tests of sla.businesstime (pure Python, no Django)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla.businesstime import BusinessCalendar

AMS = ZoneInfo("Europe/Amsterdam")
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)

OFFICE = BusinessCalendar.office_hours(tz="Europe/Amsterdam", country="NL")
ALWAYS = BusinessCalendar.always(tz="Europe/Amsterdam")
# Per-weekday hours: short Friday, Saturday morning, Sunday open to midnight,
# no holidays, one extra closed and one extra open date.
CUSTOM = BusinessCalendar(
    "Europe/Amsterdam",
    {
        0: (time(8), time(17)),
        1: (time(8), time(17)),
        2: (time(9, 30), time(12, 15)),
        3: (time(8), time(17)),
        4: (time(8), time(13)),
        5: (time(10), time(14)),
        6: (time(0), time(0)),
    },
    extra_closed=[date(2026, 3, 31)],
    extra_open=[date(2026, 4, 1)],
)
# Time zones whose wall clock is very different from Amsterdam's.
OTHER = BusinessCalendar.office_hours(
    tz="America/New_York", country="US", opens=time(9), closes=time(17, 30)
)


def ams(y, m, d, h=0, mi=0, s=0, us=0, fold=0):
    return datetime(y, m, d, h, mi, s, us, tzinfo=AMS, fold=fold)


def utc(dt: datetime) -> datetime:
    """Compare instants in UTC: datetimes in different zones never compare equal
    when one of them is the second (fold=1) occurrence of a repeated wall time."""
    return dt.astimezone(UTC)


# -- strategies ----------------------------------------------------------------------

_LO = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
_HI = int(datetime(2029, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
_ZONES = [UTC, AMS, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _last_sunday_0100_utc(year: int, month: int) -> int:
    last = date(year, month, 31)
    sunday = last - timedelta(days=(last.weekday() + 1) % 7)
    return int(datetime.combine(sunday, time(1), tzinfo=UTC).timestamp() * 1_000_000)


# EU DST changes (Amsterdam) 2024-2028, to probe instants right around them
_DST_CHANGES = [_last_sunday_0100_utc(y, m) for y in range(2024, 2029) for m in (3, 10)]


@st.composite
def instants(draw):
    """Aware datetimes 2024-2028, in assorted zones, often on round minutes."""
    us = draw(
        st.one_of(
            st.builds(
                lambda change, offset: change + offset,
                st.sampled_from(_DST_CHANGES),
                st.integers(-7_200_000_000, 7_200_000_000),
            ),
            st.integers(_LO, _HI),
            st.integers(_LO // 60_000_000, _HI // 60_000_000).map(lambda m: m * 60_000_000),
            st.integers(_LO // 900_000_000, _HI // 900_000_000).map(lambda m: m * 900_000_000),
        )
    )
    return (_EPOCH + timedelta(microseconds=us)).astimezone(draw(st.sampled_from(_ZONES)))


durations = st.one_of(
    st.integers(0, 400 * 3600 * 1_000_000).map(lambda us: timedelta(microseconds=us)),
    st.integers(0, 400 * 60).map(lambda m: timedelta(minutes=m)),
    st.sampled_from([timedelta(0), US, MIN, H, 9 * H, 24 * H, 45 * H]),
)
signed_durations = st.one_of(durations, durations.map(lambda d: -d))
calendars = st.sampled_from([OFFICE, CUSTOM, ALWAYS, OTHER])
props = settings(deadline=None, max_examples=300)


# -- properties ----------------------------------------------------------------------


@props
@given(calendars, instants(), signed_durations)
def test_elapsed_of_add_is_duration(cal, start, d):
    assert cal.elapsed(start, cal.add(start, d)) == d


@props
@given(calendars, instants(), durations, durations)
def test_add_composes(cal, start, a, b):
    assert utc(cal.add(cal.add(start, a), b)) == utc(cal.add(start, a + b))


@props
@given(calendars, instants(), durations, durations)
def test_add_monotonic_in_duration(cal, start, a, b):
    d1, d2 = sorted([a, b])
    assert utc(cal.add(start, d1)) <= utc(cal.add(start, d2))


@props
@given(calendars, instants(), instants(), instants())
def test_elapsed_monotonic_in_end_and_antisymmetric(cal, start, e1, e2):
    e1, e2 = sorted([e1, e2], key=utc)
    assert cal.elapsed(start, e1) <= cal.elapsed(start, e2)
    assert cal.elapsed(e1, start) == -cal.elapsed(start, e1)
    assert cal.elapsed(start, e1) + cal.elapsed(e1, e2) == cal.elapsed(start, e2)
    assert timedelta(0) <= cal.elapsed(e1, e2) <= utc(e2) - utc(e1)


@props
@given(calendars, instants(), durations)
def test_add_returns_earliest_instant(cal, start, d):
    result = cal.add(start, d)
    assert result.tzinfo is cal.zone
    if d > timedelta(0):
        # the microsecond before the result is open time that was counted
        assert cal.elapsed(utc(result) - US, result) == US
        assert cal.is_open(utc(result) - US)
    else:
        assert utc(result) == utc(start)


@props
@given(calendars, instants())
def test_is_open_and_next_open(cal, at):
    assert cal.is_open(at) == (cal.elapsed(at, utc(at) + US) == US)
    nxt = cal.next_open(at)
    assert cal.is_open(nxt)
    assert cal.elapsed(at, nxt) == timedelta(0)
    if cal.is_open(at):
        assert utc(nxt) == utc(at)
    else:
        assert utc(nxt) > utc(at)
        assert not cal.is_open(utc(nxt) - US)


@props
@given(instants(), signed_durations, instants())
def test_always_is_plain_utc_arithmetic(start, d, end):
    assert utc(ALWAYS.add(start, d)) == utc(start) + d
    assert ALWAYS.elapsed(start, end) == utc(end) - utc(start)
    assert ALWAYS.is_open(start)


_NL_HOLIDAYS = frozenset(holidays.country_holidays("NL", years=range(2023, 2031)))


def _independent_elapsed(start: datetime, end: datetime) -> timedelta:
    """Office NL hours by summing per-day overlaps, without BusinessCalendar."""
    closed = _NL_HOLIDAYS
    lo, hi = utc(start), utc(end)
    total = timedelta(0)
    day = lo.astimezone(AMS).date() - timedelta(days=1)
    while day <= hi.astimezone(AMS).date():
        if day.weekday() < 5 and day not in closed:
            opens = datetime.combine(day, time(8), tzinfo=AMS).astimezone(UTC)
            closes = datetime.combine(day, time(17), tzinfo=AMS).astimezone(UTC)
            total += max(timedelta(0), min(closes, hi) - max(opens, lo))
        day += timedelta(days=1)
    return total


@props
@given(instants(), st.integers(0, 30 * 24 * 3600 * 1_000_000))
def test_office_elapsed_matches_independent_day_sums(start, span_us):
    end = start + timedelta(microseconds=span_us)
    assert OFFICE.elapsed(start, end) == _independent_elapsed(start, end)


# -- examples: office hours ----------------------------------------------------------


def test_add_to_closing_time_is_the_closing_instant():
    assert OFFICE.add(ams(2026, 3, 2, 16, 30), 30 * MIN) == ams(2026, 3, 2, 17)
    assert not OFFICE.is_open(ams(2026, 3, 2, 17))


def test_friday_afternoon_rolls_over_the_weekend():
    assert OFFICE.add(ams(2026, 3, 6, 16, 50), 30 * MIN) == ams(2026, 3, 9, 8, 20)


def test_start_in_closed_time_counts_from_next_opening():
    assert OFFICE.add(ams(2026, 3, 7, 12), 90 * MIN) == ams(2026, 3, 9, 9, 30)
    assert OFFICE.add(ams(2026, 3, 3, 6), H) == ams(2026, 3, 3, 9)
    assert OFFICE.add(ams(2026, 3, 3, 17), H) == ams(2026, 3, 4, 9)


def test_add_zero_is_start_even_when_closed():
    start = datetime(2026, 3, 7, 11, 0, 0, 5, tzinfo=UTC)  # a Saturday
    result = OFFICE.add(start, timedelta(0))
    assert result == start and result.tzinfo is AMS


def test_results_are_in_the_calendar_zone():
    result = OFFICE.add(datetime(2026, 3, 2, 7, 30, tzinfo=UTC), H)
    assert result.tzinfo is AMS
    assert result == ams(2026, 3, 2, 9, 30)


def test_microseconds_are_exact():
    start = ams(2026, 3, 2, 16, 59, 59, 999_998)
    assert OFFICE.add(start, US) == ams(2026, 3, 2, 16, 59, 59, 999_999)
    assert OFFICE.add(start, 2 * US) == ams(2026, 3, 2, 17)
    assert OFFICE.add(start, 3 * US) == ams(2026, 3, 3, 8, 0, 0, 1)
    assert OFFICE.elapsed(start, ams(2026, 3, 3, 8, 0, 0, 1)) == 3 * US


def test_negative_durations_go_back_to_the_earliest_instant():
    assert OFFICE.add(ams(2026, 3, 3, 8, 30), -30 * MIN) == ams(2026, 3, 2, 17)
    assert OFFICE.add(ams(2026, 3, 3, 8, 30), -31 * MIN) == ams(2026, 3, 2, 16, 59)
    assert OFFICE.elapsed(ams(2026, 3, 3, 8, 30), ams(2026, 3, 2, 16, 59)) == -31 * MIN


def test_elapsed_examples():
    assert OFFICE.elapsed(ams(2026, 3, 2, 8), ams(2026, 3, 2, 17)) == 9 * H
    assert OFFICE.elapsed(ams(2026, 3, 6, 16), ams(2026, 3, 9, 9)) == 2 * H
    assert OFFICE.elapsed(ams(2026, 3, 7, 9), ams(2026, 3, 8, 9)) == timedelta(0)
    assert OFFICE.elapsed(ams(2026, 3, 2, 12), ams(2026, 3, 2, 12)) == timedelta(0)
    assert OFFICE.elapsed(ams(2026, 3, 2, 8), ams(2026, 3, 9, 8)) == 45 * H


def test_is_open_boundaries():
    assert OFFICE.is_open(ams(2026, 3, 2, 8))
    assert not OFFICE.is_open(ams(2026, 3, 2, 7, 59, 59, 999_999))
    assert OFFICE.is_open(ams(2026, 3, 2, 16, 59, 59, 999_999))
    assert not OFFICE.is_open(ams(2026, 3, 2, 17))
    assert not OFFICE.is_open(ams(2026, 3, 7, 12))  # Saturday


def test_next_open():
    assert OFFICE.next_open(ams(2026, 3, 2, 10)) == ams(2026, 3, 2, 10)
    assert OFFICE.next_open(ams(2026, 3, 6, 17)) == ams(2026, 3, 9, 8)
    assert OFFICE.next_open(ams(2026, 3, 9, 7, 59)) == ams(2026, 3, 9, 8)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # 25 and 26 December 2025 are Thursday and Friday
        (ams(2025, 12, 24, 16), ams(2025, 12, 29, 9)),
        # 25 December 2026 is a Friday, 26 a Saturday
        (ams(2026, 12, 24, 16), ams(2026, 12, 28, 9)),
        # New Year's Day 2026 is a Thursday
        (ams(2025, 12, 31, 16), ams(2026, 1, 2, 9)),
        # King's Day, Monday 27 April 2026
        (ams(2026, 4, 24, 16), ams(2026, 4, 28, 9)),
        # Liberation Day is a public holiday in lustrum years only
        (ams(2025, 5, 2, 16), ams(2025, 5, 6, 9)),
        (ams(2026, 5, 4, 16), ams(2026, 5, 5, 9)),
    ],
)
def test_holidays_are_closed(start, expected):
    assert OFFICE.add(start, 2 * H) == expected


def test_holiday_is_open_checks():
    for day in (date(2025, 12, 25), date(2025, 12, 26), date(2026, 1, 1), date(2026, 4, 27)):
        assert not OFFICE.is_open(datetime.combine(day, time(12), tzinfo=AMS))
    assert OFFICE.is_open(ams(2026, 4, 28, 12))
    assert OFFICE.elapsed(ams(2026, 4, 27), ams(2026, 4, 28)) == timedelta(0)


def test_dst_spring_forward_2026():
    # Sunday 29 March 2026: 02:00 CET -> 03:00 CEST
    friday_open, monday_open = ams(2026, 3, 27, 8), ams(2026, 3, 30, 8)
    assert utc(friday_open) == datetime(2026, 3, 27, 7, tzinfo=UTC)
    assert utc(monday_open) == datetime(2026, 3, 30, 6, tzinfo=UTC)
    assert OFFICE.is_open(datetime(2026, 3, 30, 6, tzinfo=UTC))
    assert not OFFICE.is_open(datetime(2026, 3, 30, 5, 59, tzinfo=UTC))
    assert not OFFICE.is_open(datetime(2026, 3, 30, 15, tzinfo=UTC))  # 17:00 CEST
    assert OFFICE.add(ams(2026, 3, 27, 16), 2 * H) == ams(2026, 3, 30, 9)
    assert OFFICE.elapsed(ams(2026, 3, 27, 17), ams(2026, 3, 30, 8)) == timedelta(0)
    assert OFFICE.elapsed(ams(2026, 3, 23, 8), ams(2026, 3, 30, 17)) == 54 * H
    assert OFFICE.elapsed(friday_open, monday_open) == 9 * H
    # 24/7: the Sunday has 23 hours
    assert ALWAYS.elapsed(ams(2026, 3, 28, 12), ams(2026, 3, 29, 12)) == 23 * H
    assert ALWAYS.elapsed(ams(2026, 3, 29), ams(2026, 3, 30)) == 23 * H
    assert ALWAYS.add(ams(2026, 3, 28, 12), 24 * H) == ams(2026, 3, 29, 13)
    assert ALWAYS.add(ams(2026, 3, 29, 1, 30), H) == ams(2026, 3, 29, 3, 30)


def test_dst_fall_back_2026():
    # Sunday 25 October 2026: 03:00 CEST -> 02:00 CET
    assert utc(ams(2026, 10, 23, 8)) == datetime(2026, 10, 23, 6, tzinfo=UTC)
    assert utc(ams(2026, 10, 26, 8)) == datetime(2026, 10, 26, 7, tzinfo=UTC)
    assert OFFICE.is_open(datetime(2026, 10, 26, 7, tzinfo=UTC))
    assert not OFFICE.is_open(datetime(2026, 10, 26, 6, 59, tzinfo=UTC))
    assert OFFICE.is_open(datetime(2026, 10, 26, 15, 59, tzinfo=UTC))  # 16:59 CET
    assert OFFICE.add(ams(2026, 10, 23, 16), 2 * H) == ams(2026, 10, 26, 9)
    assert OFFICE.elapsed(ams(2026, 10, 19, 8), ams(2026, 10, 26, 17)) == 54 * H
    # 24/7: the Sunday has 25 hours, and the repeated hour counts twice
    assert ALWAYS.elapsed(ams(2026, 10, 24, 12), ams(2026, 10, 25, 12)) == 25 * H
    assert ALWAYS.elapsed(ams(2026, 10, 25), ams(2026, 10, 26)) == 25 * H
    assert ALWAYS.add(ams(2026, 10, 24, 12), 24 * H) == ams(2026, 10, 25, 11)
    first, second = ams(2026, 10, 25, 2, 30), ams(2026, 10, 25, 2, 30, fold=1)
    assert ALWAYS.elapsed(first, second) == H
    result = ALWAYS.add(first, H)
    assert utc(result) == utc(second) and result.fold == 1


def test_other_zone_and_country():
    # New York: DST starts 8 March 2026, two weeks before Europe
    assert OTHER.add(datetime(2026, 3, 6, 16, 30, tzinfo=OTHER.zone), 90 * MIN) == datetime(
        2026, 3, 9, 9, 30, tzinfo=OTHER.zone
    )
    assert not OTHER.is_open(datetime(2026, 7, 3, 12, tzinfo=OTHER.zone))  # Independence Day
    assert OTHER.elapsed(
        datetime(2026, 3, 6, 9, tzinfo=OTHER.zone), datetime(2026, 3, 9, 17, 30, tzinfo=OTHER.zone)
    ) == timedelta(hours=17)


# -- examples: exceptions and per-weekday hours ---------------------------------------


def test_extra_closed():
    cal = BusinessCalendar.office_hours(country="NL", extra_closed=[date(2026, 3, 3)])
    assert cal.add(ams(2026, 3, 2, 16), 2 * H) == ams(2026, 3, 4, 9)
    assert not cal.is_open(ams(2026, 3, 3, 12))
    # extra_closed wins over extra_open
    cal = BusinessCalendar.office_hours(
        country="NL", extra_closed=[date(2026, 3, 3)], extra_open=[date(2026, 3, 3)]
    )
    assert not cal.is_open(ams(2026, 3, 3, 12))


def test_extra_open_weekend_and_holiday():
    saturday, kings_day = date(2026, 3, 7), date(2026, 4, 27)
    cal = BusinessCalendar.office_hours(country="NL", extra_open=[saturday, kings_day])
    assert cal.is_open(ams(2026, 3, 7, 8))
    assert not cal.is_open(ams(2026, 3, 7, 17))
    assert cal.add(ams(2026, 3, 6, 16, 50), 30 * MIN) == ams(2026, 3, 7, 8, 20)
    assert cal.elapsed(ams(2026, 3, 6), ams(2026, 3, 10)) == 27 * H
    assert cal.is_open(ams(2026, 4, 27, 12))
    assert not BusinessCalendar.office_hours(country="NL").is_open(ams(2026, 3, 7, 8))


def test_per_weekday_hours():
    # CUSTOM: Wed 09:30-12:15, Fri 08:00-13:00, Sat 10:00-14:00, Sun the whole day
    assert CUSTOM.add(ams(2026, 3, 4, 12), 15 * MIN) == ams(2026, 3, 4, 12, 15)
    assert CUSTOM.add(ams(2026, 3, 6, 12), 2 * H) == ams(2026, 3, 7, 11)
    assert CUSTOM.elapsed(ams(2026, 3, 7), ams(2026, 3, 9)) == 4 * H + 24 * H
    assert CUSTOM.is_open(ams(2026, 3, 8, 0)) and CUSTOM.is_open(ams(2026, 3, 8, 23, 59))
    assert CUSTOM.is_open(ams(2026, 3, 9, 8)) and not CUSTOM.is_open(ams(2026, 3, 9, 0))
    # the Sunday of the DST change has 23 open hours
    assert CUSTOM.elapsed(ams(2026, 3, 29), ams(2026, 3, 30)) == 23 * H
    # extra_closed Tuesday 31 March; extra_open Wednesday 1 April keeps Wednesday hours
    assert CUSTOM.elapsed(ams(2026, 3, 31), ams(2026, 4, 1)) == timedelta(0)
    assert CUSTOM.elapsed(ams(2026, 4, 1), ams(2026, 4, 2)) == timedelta(hours=2, minutes=45)


def test_extra_open_uses_monday_hours_for_a_weekday_without_hours():
    cal = BusinessCalendar(
        "Europe/Amsterdam",
        {0: (time(7), time(15)), 5: (time(10), time(12))},
        extra_open=[date(2026, 3, 4)],  # a Wednesday
    )
    assert cal.elapsed(ams(2026, 3, 4), ams(2026, 3, 5)) == 8 * H
    assert cal.is_open(ams(2026, 3, 4, 7)) and not cal.is_open(ams(2026, 3, 4, 15))


# -- add_working_days -----------------------------------------------------------------


def test_add_working_days():
    assert OFFICE.add_working_days(ams(2026, 3, 4, 10), 3) == ams(2026, 3, 9, 10)
    assert OFFICE.add_working_days(ams(2026, 3, 6, 16), 1) == ams(2026, 3, 9, 16)
    # counted from the next opening when closed
    assert OFFICE.add_working_days(ams(2026, 3, 6, 18), 1) == ams(2026, 3, 10, 8)
    assert OFFICE.add_working_days(ams(2026, 3, 7, 12), 0) == ams(2026, 3, 9, 8)
    assert OFFICE.add_working_days(ams(2026, 3, 4, 10, 15), 0) == ams(2026, 3, 4, 10, 15)
    # over King's Day (Monday 27 April 2026) and Christmas
    assert OFFICE.add_working_days(ams(2026, 4, 23, 9), 3) == ams(2026, 4, 29, 9)
    assert OFFICE.add_working_days(ams(2025, 12, 23, 11), 3) == ams(2025, 12, 30, 11)
    # backwards, and across DST with the same local time of day
    assert OFFICE.add_working_days(ams(2026, 3, 9, 10), -1) == ams(2026, 3, 6, 10)
    assert OFFICE.add_working_days(ams(2026, 3, 27, 9, 30), 1) == ams(2026, 3, 30, 9, 30)
    # a far target extends the precomputed years
    assert OFFICE.add_working_days(ams(2026, 3, 4, 10), 2000).date() > date(2033, 1, 1)


def test_add_working_days_clamps_into_shorter_hours():
    # Thursday 15:00 + 1 open day = Friday, which closes at 13:00
    assert CUSTOM.add_working_days(ams(2026, 3, 5, 15), 1) == ams(2026, 3, 6, 13)
    # Friday 08:30 + 1 = Saturday, which opens at 10:00
    assert CUSTOM.add_working_days(ams(2026, 3, 6, 8, 30), 1) == ams(2026, 3, 7, 10)


def test_add_working_days_on_always():
    assert ALWAYS.add_working_days(ams(2026, 3, 28, 12), 1) == ams(2026, 3, 29, 12)
    assert ALWAYS.add_working_days(ams(2026, 3, 28, 2, 30), 1) == ams(2026, 3, 29, 3, 30)
    assert ALWAYS.add_working_days(ams(2026, 12, 24, 9), 2) == ams(2026, 12, 26, 9)


# -- input validation and lazily computed years ----------------------------------------


def test_naive_datetimes_raise():
    naive, aware = datetime(2026, 3, 2, 10), ams(2026, 3, 2, 10)
    for cal in (OFFICE, ALWAYS):
        with pytest.raises(ValueError):
            cal.add(naive, H)
        with pytest.raises(ValueError):
            cal.add(naive, timedelta(0))
        with pytest.raises(ValueError):
            cal.elapsed(naive, aware)
        with pytest.raises(ValueError):
            cal.elapsed(aware, naive)
        with pytest.raises(ValueError):
            cal.is_open(naive)
        with pytest.raises(ValueError):
            cal.next_open(naive)
        with pytest.raises(ValueError):
            cal.add_working_days(naive, 1)
    with pytest.raises(TypeError):
        OFFICE.add(date(2026, 3, 2), H)


def test_invalid_construction():
    with pytest.raises(ValueError):
        BusinessCalendar("Europe/Amsterdam", {0: (time(17), time(8))})
    with pytest.raises(ValueError):
        BusinessCalendar("Europe/Amsterdam", {7: (time(8), time(17))})
    with pytest.raises(ValueError):
        BusinessCalendar("Europe/Amsterdam", None)
    with pytest.raises(ValueError):
        BusinessCalendar("Europe/Amsterdam", {}, extra_open=[date(2026, 1, 1)])


def test_never_open_calendar():
    cal = BusinessCalendar("Europe/Amsterdam", {})
    assert not cal.is_open(ams(2026, 3, 2, 10))
    assert cal.elapsed(ams(2026, 1, 1), ams(2027, 1, 1)) == timedelta(0)
    assert cal.add(ams(2026, 3, 2, 10), timedelta(0)) == ams(2026, 3, 2, 10)
    with pytest.raises(ValueError):
        cal.add(ams(2026, 3, 2, 10), H)


def test_far_dates_extend_the_tables():
    cal = BusinessCalendar.office_hours(country="NL")
    assert cal.add(ams(2026, 3, 6, 16, 50), 30 * MIN) == ams(2026, 3, 9, 8, 20)
    # 2090 and 1990 are outside the first precomputed years
    assert cal.add(ams(2090, 3, 3, 16, 50), 30 * MIN) == ams(2090, 3, 6, 8, 20)  # a Friday
    assert cal.is_open(ams(1990, 3, 5, 8)) and not cal.is_open(ams(1990, 3, 5, 17))
    # a long duration runs past the covered years
    start = ams(2026, 3, 2, 8)
    far = cal.add(start, timedelta(days=2000))
    assert cal.elapsed(start, far) == timedelta(days=2000)
    assert cal.add(far, -timedelta(days=2000)) == ams(2026, 2, 27, 17)  # earliest instant
    assert cal.elapsed(ams(1990, 1, 1), ams(2090, 1, 1)) == BusinessCalendar.office_hours(
        country="NL"
    ).elapsed(ams(1990, 1, 1), ams(2090, 1, 1))
