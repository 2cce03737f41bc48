"""The iCalendar feed (RFC 5545) of the maintenance windows one user may see."""

from datetime import UTC, timedelta

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from .models import Status
from .notifications import scope_for

PRODID = "-//PIM service desk//Maintenance notices//EN"
# Past windows in the feed: enough for "what happened last month", small enough for clients.
HISTORY = timedelta(days=400)


def uid_of(notice):
    return f"maintenance-{notice.pk}@pim"


def _description(notice, user):
    organizations, services = scope_for(notice, user)
    lines = [
        f"{_('Kind')}: {notice.get_kind_display()}",
        f"{_('Status')}: {notice.get_status_display()}",
        f"{_('Expected impact')}: {notice.get_impact_display()}",
    ]
    if organizations:
        lines.append(f"{_('Organisations')}: {', '.join(organizations)}")
    lines.append(f"{_('Services')}: {', '.join(services) if services else _('all services')}")
    if notice.emergency_scenario:
        lines += ["", f"{_('Emergency scenario')}:", notice.emergency_scenario]
    if notice.description:
        lines += ["", notice.description]
    lines += ["", f"{settings.PORTAL_BASE_URL}{notice.get_absolute_url()}"]
    return "\n".join(lines)


def build_feed(user, notices, now=None):
    """Bytes of a VCALENDAR with one VEVENT per notice: stable UID, SEQUENCE from the notice,
    STATUS CONFIRMED or CANCELLED, times in UTC."""
    now = now or timezone.now()
    stamp = now.astimezone(UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    with translation.override(user.language or settings.LANGUAGE_CODE):
        cal.add("x-wr-calname", _("PIM maintenance"))
        cal.add("x-published-ttl", "PT1H")
        for notice in notices:
            event = Event()
            event.add("uid", uid_of(notice))
            event.add("dtstamp", stamp)
            event.add("last-modified", notice.updated_at.astimezone(UTC).replace(microsecond=0))
            event.add("dtstart", notice.starts_at.astimezone(UTC))
            event.add("dtend", notice.ends_at.astimezone(UTC))
            prefix = _("Maintenance") if notice.kind != "emergency" else _("Emergency maintenance")
            event.add("summary", f"{prefix}: {notice.title}")
            event.add("description", _description(notice, user))
            event.add("sequence", notice.sequence)
            event.add("status", "CANCELLED" if notice.status == Status.CANCELLED else "CONFIRMED")
            event.add("transp", "OPAQUE")
            event.add("url", f"{settings.PORTAL_BASE_URL}{notice.get_absolute_url()}")
            cal.add_component(event)
    return cal.to_ical()


def feed_notices(qs, now=None):
    now = now or timezone.now()
    return qs.filter(ends_at__gte=now - HISTORY).order_by("starts_at", "pk")
