"""What customers are told by problem management, through escalation's outbox (one row per
person and channel with a unique dedup key; rendered in the recipient's language at delivery):
the workaround of a known error (`services.send_workaround`) and, to its followers, its fix."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from escalation import delivery

from .models import KnownError

PREFIX = "problem_"


def _known_error(notification):
    cached = getattr(notification, "_known_error", None)
    if cached is None:
        pk = (notification.context or {}).get("known_error")
        cached = KnownError.objects.filter(pk=pk).first()
        notification._known_error = cached
    return cached


def prefetch(notifications):
    ids = {(n.context or {}).get("known_error") for n in notifications}
    found = KnownError.objects.in_bulk([i for i in ids if isinstance(i, int)])
    for n in notifications:
        n._known_error = found.get((n.context or {}).get("known_error"))


def _report_message(notification):
    """The monthly open-problem report (tasks.mail_open_problem_report), from the figures frozen
    in the row's context when it was written."""
    context = notification.context or {}
    params = {"month": context.get("month", ""), "total": context.get("total", 0)}
    subject = _("Open problems report %(month)s: %(total)s open") % params
    lines = [
        _("The status of the open problems at the start of %(month)s.") % params,
        "",
        " · ".join(f"P{priority}: {count}" for priority, count in context.get("by_priority", [])),
        "",
    ]
    for row in context.get("rows", []):
        lines.append(
            _(
                "%(number)s (P%(priority)s) %(title)s — %(age)s days open, %(incidents)s "
                "incidents, %(known_errors)s known errors"
            )
            % row
            + (" · " + _("workaround available") if row.get("workaround") else "")
        )
    if not context.get("rows"):
        lines.append(_("No open problems."))
    lines += [
        "",
        _("The whole report: %(url)s")
        % {"url": settings.PORTAL_BASE_URL + reverse("problem-report")},
    ]
    return subject, "\n".join(lines), {}


def message_for(notification):
    """(subject, body, extra) of a problem notification."""
    if notification.template == "problem_report":
        return _report_message(notification)
    known_error = _known_error(notification)
    ticket = notification.ticket
    params = {
        "title": known_error.title if known_error else "",
        "number": ticket.number if ticket else "",
    }
    if notification.template == "problem_fixed":
        subject = _("Fixed: %(title)s") % params
        body = _("The known error “%(title)s” you follow has been fixed.") % params
    else:
        subject = _("A workaround for %(number)s: %(title)s") % params
        body = (
            _(
                "Your report %(number)s is caused by a known error, “%(title)s”. Until it is "
                "fixed, this workaround helps:"
            )
            % params
        )
        if known_error is not None and known_error.workaround:
            body += "\n\n" + known_error.workaround
        body += "\n\n" + _("We tell you when the definitive fix is in place.")
    return subject, body, {}


def render_email(notification):
    return delivery.compose_email(notification, message_for)


def install_renderer():
    delivery.register_renderer(PREFIX, message_for, render_email, prefetch)
