"""Calendar rows → cached BusinessCalendar objects.

Building a calendar's tables costs milliseconds; every clock computation needs one. Each process
keeps the built calendars as configuration copies (`pim.config_cache`): a change of a calendar,
its opening hours or its dates moves the shared generation on, so all processes rebuild.
"""

import contextvars
from contextlib import contextmanager

from pim import config_cache

from .businesstime import BusinessCalendar
from .models import Calendar


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


# Inside `pinned()` (a sweep batch, a registration) each calendar is looked up once, not once
# per clock: a correction applies from the next batch on.
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
    return config_cache.get(
        ("sla:calendar", pk),
        lambda: build(Calendar.objects.prefetch_related("hours", "dates").get(pk=pk)),
    )
