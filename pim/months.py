"""Calendar months of the portal's time zone (TIME_ZONE, Europe/Amsterdam), for reports and
billing: a month is named by its first day."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings


def month_of(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after `day`'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_start(day: date) -> datetime:
    """Midnight at the start of `day`'s month in the portal's time zone (aware)."""
    return datetime.combine(month_of(day), time.min, ZoneInfo(settings.TIME_ZONE))


def month_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of `day`'s calendar month in the portal's time zone."""
    return month_start(day), month_start(next_month(day))
