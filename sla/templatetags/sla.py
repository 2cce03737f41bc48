from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from sla import queries

register = template.Library()


@register.filter
def duration(seconds):
    """Business or real seconds as "2 h 05 min" (translated)."""
    if seconds is None:
        return "–"
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    return _("%(m)d min") % {"m": minutes}


@register.inclusion_tag("sla/_countdown.html")
def sla_countdown(ticket, now=None):
    """The next due clock of a list row, coloured by its live state."""
    now = now or timezone.now()
    clock = queries.next_clock(ticket)
    if clock is None:
        return {"clock": None}
    if clock.due_at is None:
        return {"clock": clock, "state": clock.state, "paused": True}
    left = (clock.due_at - now).total_seconds()
    return {
        "clock": clock,
        "state": queries.live_state(clock, now),
        "left": left,
        "overdue": left < 0,
        "paused": clock.paused,
    }
