"""Business-time arithmetic on opening hours: pure Python, no Django.

A :class:`BusinessCalendar` describes when a service desk is *open*:

* per-weekday wall-clock opening hours in one time zone (for example
  08:00-17:00 Europe/Amsterdam, Monday to Friday);
* closed on the public holidays of a country (from the ``holidays`` package);
* ``extra_closed`` dates that are closed although normally open;
* ``extra_open`` dates that are open although normally closed (a weekend day
  or a holiday);

or it is open around the clock (:meth:`BusinessCalendar.always`).

Semantics
---------
* All instants are timezone-aware :class:`datetime.datetime` objects; a naive
  one raises :class:`ValueError`.  Results are returned in the calendar's zone.
* Opening intervals are half-open ``[opens, closes)``: at 08:00 the desk is
  open, at 17:00 it is closed.
* ``elapsed(start, end)`` is the open time between two instants, measured in
  real (UTC) time; ``elapsed(s, e) == -elapsed(e, s)``.
* ``add(start, d)`` is the *earliest* instant ``t`` with
  ``elapsed(start, t) == d``.  So Monday 16:30 + 30 min is Monday 17:00, a
  start in closed time counts from the next opening, and ``add(s, 0) == s``.
  For ``d < 0`` it is likewise the earliest instant before ``start`` with that
  much open time in between (e.g. Tuesday 08:30 - 30 min is Monday 17:00).
* Office hours are wall-clock local times, so they are exact across DST
  changes; the 24/7 calendar is plain UTC arithmetic.  A wall-clock time that
  does not exist (a DST gap) or is ambiguous (a DST fold) is read with
  ``fold=0``, as :mod:`zoneinfo` does; a day whose closing instant would then
  not lie after its opening instant is treated as closed.

Implementation
--------------
Opening intervals are precomputed per local calendar year as UTC epoch
*microseconds* (plain ints, so results are exact to the microsecond), merged
into sorted ``starts``/``ends`` lists with a cumulative-open-time array; every
query is one or two :func:`bisect.bisect` look-ups.  The covered range of years
is extended lazily (and contiguously) whenever a query falls outside it.
There is never any stepping over minutes, hours or days at query time.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["BusinessCalendar"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_MIDNIGHT = time(0)
_MIN_YEAR = 2  # keep a year of slack on both sides of datetime's range
_MAX_YEAR = 9998


def _as_us(dt: datetime) -> int:
    """UTC epoch microseconds of an aware datetime (ValueError if naive)."""
    try:
        return (dt - _EPOCH) // _US
    except TypeError:
        raise _not_aware(dt) from None


def _not_aware(*values: object) -> Exception:
    """The error for the first value that is not an aware datetime."""
    for v in values:
        if not isinstance(v, datetime):
            return TypeError(f"datetime required, got {type(v).__name__}")
        if v.utcoffset() is None:
            return ValueError(f"timezone-aware datetime required, got naive {v!r}")
    return TypeError("cannot convert to an instant")


def _as_date(d: date) -> date:
    if not isinstance(d, date):
        raise TypeError(f"date required, got {type(d).__name__}")
    return date(d.year, d.month, d.day)  # a datetime becomes its date part


def _check_time(t: time) -> time:
    if not isinstance(t, time):
        raise TypeError(f"time required, got {type(t).__name__}")
    if t.tzinfo is not None:
        raise ValueError("opening hours are local wall-clock times: no tzinfo")
    return t


class BusinessCalendar:
    """Opening hours of one time zone, with public holidays and exceptions.

    ``hours`` maps a weekday (Monday = 0 ... Sunday = 6) to ``(opens, closes)``
    local wall-clock times; weekdays missing from it are closed.  ``closes``
    must be after ``opens``, or ``time(0)`` meaning midnight at the end of the
    day (so ``(time(0), time(0))`` is open the whole day).

    ``country`` (and optionally ``subdiv``) selects public holidays from the
    ``holidays`` package; those dates are closed.  ``extra_closed`` dates are
    closed too.  ``extra_open`` dates are open even when they are holidays or
    their weekday is closed: with that weekday's hours, or else the Monday
    hours (or, without Monday hours, those of the first configured weekday).
    ``extra_closed`` wins over ``extra_open``.

    ``always=True`` makes a 24/7 calendar (``hours`` must then be ``None``):
    open at every instant, holidays included, with ``elapsed`` and ``add``
    equal to plain UTC arithmetic.

    Office-hours tables are built lazily for local years 2..9998; a query
    that needs a year outside that range raises :class:`OverflowError`, and
    ``add``/``next_open``/``add_working_days`` on a calendar that is never
    open raise :class:`ValueError`.  Instances are safe to share between
    threads (table extension is locked; lookups read an immutable snapshot).
    """

    def __init__(
        self,
        tz: str | tzinfo,
        hours: dict[int, tuple[time, time]] | None,
        country: str | None = None,
        extra_closed=(),
        extra_open=(),
        always: bool = False,
        *,
        subdiv: str | None = None,
    ) -> None:
        self.zone: tzinfo = ZoneInfo(tz) if isinstance(tz, str) else tz
        if not isinstance(self.zone, tzinfo):
            raise TypeError("tz must be a zone name or a tzinfo")
        self.always_open = bool(always)
        self.country = country
        self.subdiv = subdiv
        self.extra_closed = frozenset(_as_date(d) for d in extra_closed)
        self.extra_open = frozenset(_as_date(d) for d in extra_open)
        if self.always_open:
            if hours is not None:
                raise ValueError("always=True takes no opening hours")
            hours = {}
        elif hours is None:
            raise ValueError("opening hours required unless always=True")
        self.hours = {}
        for weekday, (opens, closes) in sorted(hours.items()):
            if weekday not in range(7):
                raise ValueError(f"weekday must be 0 (Monday) .. 6, got {weekday!r}")
            opens, closes = _check_time(opens), _check_time(closes)
            if closes != _MIDNIGHT and closes <= opens:
                raise ValueError(f"weekday {weekday}: closes {closes} is not after opens {opens}")
            self.hours[weekday] = (opens, closes)
        if self.hours:
            self._default_hours = self.hours.get(0) or self.hours[min(self.hours)]
        else:
            self._default_hours = None
            if not self.always_open and self.extra_open - self.extra_closed:
                raise ValueError("extra_open needs at least one weekday's hours")
        # Tables: (lo_us, hi_us, n, starts, ends, cum, cumend, days, lo_year,
        # hi_year); see _rebuild.  Replaced atomically, so readers need no lock.
        self._years: dict[int, list[tuple[int, int, int]]] = {}
        self._lock = threading.Lock()
        self._t = (0, 0, 0, [], [], [0], [], [], None, None)
        self._never_open = not self.always_open and not (
            self.hours or self.extra_open - self.extra_closed
        )

    # -- constructors ---------------------------------------------------------

    @classmethod
    def office_hours(
        cls,
        tz: str | tzinfo = "Europe/Amsterdam",
        country: str | None = "NL",
        opens: time = time(8),
        closes: time = time(17),
        extra_closed=(),
        extra_open=(),
        weekdays=(0, 1, 2, 3, 4),
        *,
        subdiv: str | None = None,
    ) -> BusinessCalendar:
        """Same ``opens``-``closes`` hours on each of ``weekdays`` (Monday = 0)."""
        return cls(
            tz,
            dict.fromkeys(weekdays, (opens, closes)),
            country=country,
            extra_closed=extra_closed,
            extra_open=extra_open,
            subdiv=subdiv,
        )

    @classmethod
    def always(cls, tz: str | tzinfo = "Europe/Amsterdam") -> BusinessCalendar:
        """Open 24/7, holidays included: plain UTC arithmetic."""
        return cls(tz, None, always=True)

    def day_seconds(self) -> int | None:
        """The length of a working day in seconds (the longest weekday's opening hours), or
        None for a 24/7 calendar: what "a working day" means when durations are shown."""
        if self.always_open or not self.hours:
            return None

        def span(opens, closes):
            end = 24 * 3600 if closes == _MIDNIGHT else closes.hour * 3600 + closes.minute * 60
            return end - (opens.hour * 3600 + opens.minute * 60)

        return max(span(o, c) for o, c in self.hours.values())

    def __repr__(self) -> str:
        if self.always_open:
            return f"<BusinessCalendar 24/7 {self.zone}>"
        hours = ", ".join(f"{wd}:{o:%H:%M}-{c:%H:%M}" for wd, (o, c) in self.hours.items())
        return f"<BusinessCalendar {self.zone} {self.country or '-'} {hours}>"

    # -- public API -------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """Earliest instant ``t`` with ``elapsed(start, t) == duration``."""
        try:
            x = (start - _EPOCH) // _US
        except TypeError:
            raise _not_aware(start) from None
        d = duration // _US
        if not d or self.always_open:
            return self._from_us(x + d)
        if self._never_open:
            raise ValueError("calendar is never open")
        t = self._t
        while True:
            lo, hi, n, starts, ends, cum, cumend, _, _, _ = t
            if not lo <= x < hi:
                t = self._cover(x)
                continue
            i = bisect_right(ends, x)
            c = cum[i]
            if i < n and starts[i] <= x:
                c += x - starts[i]
            target = c + d
            if 0 < target <= cum[n]:
                j = bisect_left(cumend, target)
                secs, micro = divmod(ends[j] - cumend[j] + target, 1_000_000)
                result = datetime.fromtimestamp(secs, self.zone)
                return result.replace(microsecond=micro) if micro else result
            # The target lies before the first or past the last interval.
            t = self._grow(t, forward=target > 0)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Open time between ``start`` and ``end``; negative if ``end < start``."""
        try:
            a = (start - _EPOCH) // _US
            b = (end - _EPOCH) // _US
        except TypeError:
            raise _not_aware(start, end) from None
        if self.always_open:
            return timedelta(microseconds=b - a)
        t = self._t
        if not (t[0] <= a < t[1] and t[0] <= b < t[1]):
            self._cover(a)
            t = self._cover(b)
        _, _, n, starts, ends, cum, _, _, _, _ = t
        i = bisect_right(ends, a)
        ca = cum[i]
        if i < n and starts[i] <= a:
            ca += a - starts[i]
        i = bisect_right(ends, b)
        cb = cum[i]
        if i < n and starts[i] <= b:
            cb += b - starts[i]
        return timedelta(microseconds=cb - ca)

    def is_open(self, at: datetime) -> bool:
        """Whether the desk is open at instant ``at`` (opens inclusive, closes not)."""
        if self.always_open:
            _as_us(at)
            return True
        x = _as_us(at)
        t = self._covering(x)
        i = bisect_right(t[4], x)
        return i < t[2] and t[3][i] <= x

    def next_open(self, at: datetime) -> datetime:
        """``at`` if open then, else the next opening instant (in the zone)."""
        x = _as_us(at)
        if self.always_open:
            return self._from_us(x)
        i, t = self._next_open_index(x)
        return self._from_us(max(x, t[3][i]))

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The same local time of day, ``n`` open days later.

        Precisely: let ``s = next_open(start)`` (``start`` itself when open) and
        ``D`` the local date of ``s``.  The result is the local wall-clock time
        of ``s`` on the ``n``-th open day after ``D`` (an *open day* is a date
        with opening hours once holidays, ``extra_closed`` and ``extra_open``
        are applied; ``n < 0`` counts back, ``n == 0`` gives ``s``), clamped
        into that day's opening hours: before its opening it is its opening
        instant, after its closing it is its closing instant.  So Friday 16:00
        + 1 working day is Monday 16:00, and Friday 18:00 (closed) + 1 is
        Tuesday 08:00 (counted from Monday's 08:00 opening).

        For the 24/7 calendar every date is an open day: the result is the
        same wall-clock time ``n`` local days later (a time that does not exist
        because of DST is read with ``fold=0``).
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError("n must be an int")
        x = _as_us(start)
        zone = self.zone
        if self.always_open:
            local = self._from_us(x).replace(tzinfo=None) + timedelta(days=n)
            return self._from_us(_as_us(local.replace(tzinfo=zone, fold=0)))
        i, t = self._next_open_index(x)
        x = max(x, t[3][i])
        if not n:
            return self._from_us(x)
        tod = self._from_us(x).time().replace(fold=0)
        j = i + n
        while not 0 <= j < t[2]:
            t = self._grow(t, forward=j >= t[2])
            i, t = self._next_open_index(x)
            j = i + n
        day = date.fromordinal(t[7][j])
        wanted = _as_us(datetime.combine(day, tod, tzinfo=zone))
        return self._from_us(min(max(wanted, t[3][j]), t[4][j]))

    # -- internals --------------------------------------------------------------

    def _from_us(self, us: int) -> datetime:
        secs, micro = divmod(us, 1_000_000)
        dt = datetime.fromtimestamp(secs, self.zone)
        return dt.replace(microsecond=micro) if micro else dt

    def _covering(self, x: int):
        t = self._t
        if not t[0] <= x < t[1]:
            t = self._cover(x)
        return t

    def _next_open_index(self, x: int):
        """(index of the interval containing x or next after it, tables)."""
        if self._never_open:
            raise ValueError("calendar is never open")
        t = self._covering(x)
        while True:
            i = bisect_right(t[4], x)
            if i < t[2]:
                return i, t
            t = self._grow(t, forward=True)

    def _cover(self, x: int):
        """Tables covering instant ``x``, extending the range of years if needed."""
        year = (_EPOCH + timedelta(microseconds=x)).year
        with self._lock:
            t = self._t
            if t[0] <= x < t[1]:
                return t
            lo_year, hi_year = t[8], t[9]
            if lo_year is None:
                lo_year, hi_year = year - 1, year + 1
            else:
                lo_year, hi_year = min(lo_year, year - 1), max(hi_year, year + 1)
            return self._rebuild(lo_year, hi_year)

    def _grow(self, t, forward: bool):
        """Tables extended by some years before or after ``t``'s range."""
        with self._lock:
            cur = self._t
            if cur is not t:  # someone else already extended the tables
                return cur
            lo_year, hi_year = t[8], t[9]
            # Roughly double the span, so huge durations need few rebuilds.
            years = max(1, min(hi_year - lo_year + 1, 64))
            if forward:
                if hi_year >= _MAX_YEAR:
                    raise OverflowError("business time beyond the supported range")
                hi_year = min(hi_year + years, _MAX_YEAR)
            else:
                if lo_year <= _MIN_YEAR:
                    raise OverflowError("business time before the supported range")
                lo_year = max(lo_year - years, _MIN_YEAR)
            return self._rebuild(lo_year, hi_year)

    def _rebuild(self, lo_year: int, hi_year: int):
        """Build the tables for local years lo_year..hi_year (caller holds lock)."""
        if lo_year < _MIN_YEAR or hi_year > _MAX_YEAR:
            raise OverflowError("business time outside the supported range")
        starts: list[int] = []
        ends: list[int] = []
        days: list[int] = []
        for y in range(lo_year, hi_year + 1):
            intervals = self._years.get(y)
            if intervals is None:
                intervals = self._years[y] = self._build_year(y)
            for s, e, o in intervals:
                starts.append(s)
                ends.append(e)
                days.append(o)
        cum = [0] * (len(starts) + 1)
        cumend = [0] * len(starts)
        total = 0
        for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
            total += e - s
            cumend[k] = total
            cum[k + 1] = total
        zone = self.zone
        lo_us = _as_us(datetime(lo_year, 1, 1, tzinfo=zone))
        hi_us = _as_us(datetime(hi_year + 1, 1, 1, tzinfo=zone))
        t = (lo_us, hi_us, len(starts), starts, ends, cum, cumend, days)
        t += (lo_year, hi_year)
        self._t = t
        return t

    def _build_year(self, year: int) -> list[tuple[int, int, int]]:
        """Opening intervals (start_us, end_us, date ordinal) of one local year."""
        zone = self.zone
        if self.country:
            import holidays as holidays_lib  # deferred: ~0.3 s to load; 24/7 calendars skip it

            closed_holidays = set(
                holidays_lib.country_holidays(self.country, subdiv=self.subdiv, years=year)
            )
        else:
            closed_holidays = set()
        hours = self.hours
        extra_open, extra_closed = self.extra_open, self.extra_closed
        out = []
        first = date(year, 1, 1).toordinal()
        for ordinal in range(first, date(year + 1, 1, 1).toordinal()):
            day = date.fromordinal(ordinal)
            if day in extra_closed:
                continue
            h = hours.get(day.weekday())
            if day in extra_open:
                h = h or self._default_hours
            elif h is None or day in closed_holidays:
                continue
            opens, closes = h
            s = _as_us(datetime.combine(day, opens, tzinfo=zone))
            if closes == _MIDNIGHT:
                e = _as_us(datetime.combine(day + _ONE_DAY, closes, tzinfo=zone))
            else:
                e = _as_us(datetime.combine(day, closes, tzinfo=zone))
            if e > s:
                out.append((s, e, ordinal))
        return out
