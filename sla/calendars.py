"""Calendar rows → cached BusinessCalendar objects.

Building a calendar's tables costs milliseconds; every clock computation needs one. Each process
keeps built calendars keyed by (pk, version); the version lives in the shared cache and is bumped
whenever a calendar, its opening hours or its dates change, so all processes rebuild.
"""

import contextvars
import threading
from contextlib import contextmanager

from django.core.cache import cache

from .businesstime import BusinessCalendar
from .models import Calendar

_built: dict[tuple[int, int], BusinessCalendar] = {}
_lock = threading.Lock()


def _version_key(pk):
    return f"sla:calendar-version:{pk}"


def calendar_version(pk):
    return cache.get(_version_key(pk), 0)


def bump_version(pk):
    try:
        cache.incr(_version_key(pk))
    except ValueError:
        cache.set(_version_key(pk), 1, timeout=None)


def build(calendar):
    """A BusinessCalendar from a Calendar row (with its hours and dates)."""
    if calendar.always_open:
        return BusinessCalendar.always(tz=calendar.timezone)
    hours = {h.weekday: (h.opens, h.closes) for h in calendar.hours.all()}
    dates = list(calendar.dates.all())
    return BusinessCalendar(
        calendar.timezone,
        hours,
        country=calendar.holiday_country or None,
        extra_closed=[d.date for d in dates if d.kind == "closed"],
        extra_open=[d.date for d in dates if d.kind == "open"],
    )


# Inside `pinned()` (a sweep batch) each calendar's version is read from the cache once, not
# once per clock: a correction applies from the next batch on.
_pinned = contextvars.ContextVar("sla_pinned_calendars", default=None)


@contextmanager
def pinned():
    token = _pinned.set({})
    try:
        yield
    finally:
        _pinned.reset(token)


def business_calendar(pk):
    memo = _pinned.get()
    if memo is not None:
        found = memo.get(pk)
        if found is None:
            found = memo[pk] = _business_calendar(pk)
        return found
    return _business_calendar(pk)


def _business_calendar(pk):
    key = (pk, calendar_version(pk))
    found = _built.get(key)
    if found is None:
        calendar = Calendar.objects.prefetch_related("hours", "dates").get(pk=pk)
        found = build(calendar)
        with _lock:
            for old in [k for k in _built if k[0] == pk]:
                del _built[old]
            _built[key] = found
    return found
