import json
import math

from django import template
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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


def _day_length(seconds):
    hours, rest = divmod(seconds, 3600)
    return _("%(h)d h") % {"h": hours} if not rest else duration(seconds)


@register.simple_tag
def business_time(seconds, day_seconds=None, calendar_name=""):
    """Business seconds as working time: whole working days of the calendar's length name the
    calendar ("5 working days of 9 h (Office hours)"), anything else working hours ("48
    working hours"); never calendar days. A 24/7 calendar's time is plain `duration`."""
    if seconds is None:
        return "–"
    if not day_seconds:
        return duration(seconds)
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, int(day_seconds))
    if days and not rest:
        text = ngettext(
            "%(days)d working day of %(hours)s", "%(days)d working days of %(hours)s", days
        ) % {"days": days, "hours": _day_length(int(day_seconds))}
        return f"{text} ({calendar_name})" if calendar_name else text
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours and minutes:
        return ngettext(
            "%(h)d working hour %(m)02d min", "%(h)d working hours %(m)02d min", hours
        ) % {"h": hours, "m": minutes}
    if hours:
        return ngettext("%(h)d working hour", "%(h)d working hours", hours) % {"h": hours}
    return _("%(m)d working min") % {"m": minutes}


@register.simple_tag
def countdown_texts():
    """The countdown's texts in the reader's language, as JSON for the browser's ticking
    countdowns (static/js/queue.js): the same texts `duration` and `sla_countdown` use."""
    return json.dumps(
        {
            "in": _("in %(left)s"),
            "late": _("%(left)s late"),
            "dh": _("%(d)d d %(h)d h"),
            "hm": _("%(h)d h %(m)02d min"),
            "m": _("%(m)d min"),
        }
    )


# Two bars drawn in CSS (.pause-mark), not the character U+23F8: the fonts of many desktops lack
# it (a box in Chromium on Linux) and phones draw it as a coloured emoji; a screen reader
# reads "paused" only.
PAUSE_MARK = mark_safe('<span class="pause-mark" aria-hidden="true"></span>')  # noqa: S308


@register.simple_tag
def pause_mark():
    """The paused sign for a template (the SLA panel's badge), the same as the countdown's."""
    return PAUSE_MARK


def _countdown_attrs(clock, state, paused):
    """The title and the data-* attributes of a countdown (static/js/queue.js ticks it); the
    times as the `date` filter writes them ("d-m-Y H:i" and "c"), once per list row."""
    title = clock.get_target_display()
    if clock.due_at:
        title = f"{title}: {template_localtime(clock.due_at):%d-%m-%Y %H:%M}"
    attrs = format_html(' title="{}"', title)
    if not paused and clock.due_at and not clock.stopped_at:
        attrs += format_html(
            ' data-due="{}" data-state="{}"', template_localtime(clock.due_at).isoformat(), state
        )
        if clock.at_risk_at:
            attrs += format_html(
                ' data-at-risk="{}"', template_localtime(clock.at_risk_at).isoformat()
            )
    return attrs


@register.simple_tag
def sla_countdown(ticket, now=None):
    """The next due clock of a list row, coloured by its live state: rendered in Python, not
    by an inclusion template (a list renders it once per row)."""
    now = now or timezone.now()
    clock = queries.next_clock(ticket)
    if clock is None:
        return mark_safe('<span class="sla">–</span>')  # noqa: S308 (a constant)
    paused = clock.due_at is None or clock.paused
    state = clock.state if clock.due_at is None else queries.live_state(clock, now)
    if paused:
        left = format_html("{}{}", PAUSE_MARK, _("paused"))
    else:
        seconds = (clock.due_at - now).total_seconds()
        template = _("%(left)s late") if seconds < 0 else _("in %(left)s")
        left = template % {"left": duration(seconds)}
    return format_html(
        '<span class="sla sla-{}"{}><span class="sla-left">{}</span> <small>({})</small></span>',
        state,
        _countdown_attrs(clock, state, paused),
        left,
        clock.get_target_display().lower(),
    )


@register.filter
def open_time(value):
    """A timedelta of open time as hours and minutes ("198 h 00 min"): days of a window are
    not days of 24 hours, so no days."""
    if value is None:
        return "–"
    minutes = int(abs(value.total_seconds())) // 60
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    return _("%(m)d min") % {"m": minutes}


@register.filter
def percent(ratio):
    """A share 0–1 as a percentage with three decimals, rounded down (99.9999 % shows as
    99.999 %, never as 100 %), in the reader's number format."""
    if ratio is None:
        return "–"
    value = math.floor(ratio * 100_000 + 1e-9) / 1000
    return f"{number_format(value, 3)}\N{NO-BREAK SPACE}%"  # the sign stays with its number


@register.filter
def age(seconds):
    """An age in seconds in calendar time: "3 d 4 h", "5 h 12 min", "12 min"."""
    if seconds is None:
        return "–"
    minutes = max(int(seconds), 0) // 60
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    return _("%(m)d min") % {"m": minutes}
