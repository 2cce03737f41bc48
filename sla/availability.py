"""Availability arithmetic (SPEC §9, DESIGN §4): pure Python, no Django.

```python
a = availability(window, start, end, outages, maintenance)
a.scheduled   # open time of the service window within [start, end)
a.downtime    # open time within [start, end) covered by an outage and not by maintenance
a.ratio       # 1 - downtime / scheduled; 1.0 when nothing is scheduled
```

`window` is a :class:`sla.businesstime.BusinessCalendar`; `outages` and `maintenance` are
iterables of ``(start, end)`` aware datetime pairs, in any order, possibly overlapping, possibly
reaching outside the period (an empty or reversed pair covers nothing). Each set is merged into
its union first, so an instant is down once however many outages cover it, and announced
maintenance is subtracted from that union; what remains is clipped to ``[start, end)`` and
measured in the window's open time (``BusinessCalendar.elapsed``: exact across DST changes and
holidays, no stepping).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .businesstime import BusinessCalendar

__all__ = ["Availability", "availability", "subtract", "union"]

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Availability:
    scheduled: timedelta
    downtime: timedelta

    @property
    def uptime(self) -> timedelta:
        return self.scheduled - self.downtime

    @property
    def ratio(self) -> float:
        if self.scheduled <= timedelta(0):
            return 1.0
        return 1.0 - self.downtime / self.scheduled


def union(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The intervals clipped to [start, end), empty ones dropped, overlapping and touching ones
    merged: sorted and disjoint."""
    clipped = sorted(
        (max(a, start), min(b, end)) for a, b in intervals if min(b, end) > max(a, start)
    )
    merged: list[Interval] = []
    for a, b in clipped:
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def subtract(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    """The parts of sorted disjoint `intervals` not covered by sorted disjoint `holes`."""
    out: list[Interval] = []
    j = 0
    for a, b in intervals:
        while j < len(holes) and holes[j][1] <= a:
            j += 1
        k = j
        cursor = a
        while k < len(holes) and holes[k][0] < b:
            if holes[k][0] > cursor:
                out.append((cursor, holes[k][0]))
            cursor = max(cursor, holes[k][1])
            k += 1
        if cursor < b:
            out.append((cursor, b))
    return out


def availability(
    window: BusinessCalendar,
    start: datetime,
    end: datetime,
    outages: Iterable[Interval],
    maintenance: Iterable[Interval] = (),
) -> Availability:
    """Scheduled time, downtime and their ratio of one service over [start, end)."""
    if end <= start:
        return Availability(timedelta(0), timedelta(0))
    scheduled = window.elapsed(start, end)
    down = subtract(union(outages, start, end), union(maintenance, start, end))
    downtime = sum((window.elapsed(a, b) for a, b in down), timedelta(0))
    return Availability(scheduled, downtime)
