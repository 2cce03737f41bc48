"""The words of the customer notifications (`customer.py`), in the active language: the bell
renders them in the reader's language, delivery in the recipient's. Everything a message says
is in the row's context (no query per row in the bell)."""

from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from sla.models import Target
from tickets.models import Kind, Status

from .models import CustomerEvent, Level

TEMPLATE = "customer"
STAFF_TEMPLATE = "customer_staff"

RATING_SCORES = (1, 2, 3, 4, 5)


def _status_label(code):
    return str(Status(code).label) if code in Status.values else code


def _when(value):
    try:
        return timezone.localtime(datetime.fromisoformat(value)).strftime("%d-%m-%Y %H:%M")
    except (TypeError, ValueError):
        return ""


def _target_label(code):
    return str(Target(code).label) if code in Target.values else code


def _with_note(text, label, note):
    return f"{text}\n\n{label}:\n{note}" if note else text


def message(notification, params):
    """(subject, body, extra) of a customer notification."""
    ctx = notification.context or {}
    event = ctx.get("event")
    params = {**params, "status": _status_label(ctx.get("new", ""))}
    extra = {}
    if event == "withdrawn":
        subject = _("%(number)s withdrawn by the customer") % params
        body = _with_note(
            _("The reporter withdrew ticket %(number)s before work started; it is closed and "
              "its clocks are stopped.") % params,
            _("Reason"),
            ctx.get("reason", ""),
        )  # fmt: skip
    elif event == CustomerEvent.UPDATE:
        subject = _("Update on %(number)s: %(title)s") % params
        body = ctx.get("body", "")
        if ctx.get("next_actions"):
            body += "\n\n" + _("Next actions") + ":\n" + ctx["next_actions"]
        if ctx.get("expected"):
            body += "\n\n" + _("Expected resolution: %(when)s") % {"when": _when(ctx["expected"])}
        if ctx.get("author"):
            body = _("%(author)s wrote:") % {"author": ctx["author"]} + "\n\n" + body
    elif event == CustomerEvent.WAITING:
        subject = _("We need information from you on %(number)s") % params
        body = _with_note(
            _("We are waiting for your answer on ticket %(number)s; until then its clocks are "
              "paused. Please answer in the portal or reply to this e-mail.") % params,
            _("Our question"),
            ctx.get("note", ""),
        )  # fmt: skip
    elif event == CustomerEvent.STATUS:
        subject, body = _status_message(ctx, params, _is_change(notification))
    elif event == CustomerEvent.PRIORITY:
        params.update(old=ctx.get("old_priority", ""), new=ctx.get("new_priority", ""))
        subject = _("The priority of %(number)s is now P%(new)s") % params
        body = _with_note(
            _("We changed the priority of ticket %(number)s from P%(old)s to P%(new)s.") % params,
            _("Reason"),
            ctx.get("reason", ""),
        )
        due = [f"{_target_label(t)}: {_when(at)}" for t, at in ctx.get("due", [])]
        if due:
            body += "\n\n" + _("New due times") + ":\n" + "\n".join(due)
    elif event == CustomerEvent.ESCALATION:
        params.update(by=ctx.get("by", ""), level=_level_label(ctx.get("level", "")))
        subject = _("Your escalation of %(number)s is acknowledged") % params
        body = (
            _("%(by)s acknowledged the escalation of ticket %(number)s (level %(level)s) and "
              "takes it up.") % params
        )  # fmt: skip
    elif event == CustomerEvent.RATING:
        subject = _("How did we do on %(number)s?") % params
        body = (
            _("Ticket %(number)s is closed. Would you rate our handling from 1 (poor) to 5 "
              "(excellent)? One click is enough; a comment is welcome.") % params
        )  # fmt: skip
        extra["rating"] = True
    else:
        subject, body = _("Ticket %(number)s changed") % params, ""
    return subject, body, extra


def _is_change(notification):
    ticket = notification.ticket
    return ticket is not None and ticket.kind == Kind.CHANGE


def _status_message(ctx, params, change=False):
    kind = ctx.get("kind")
    note = ctx.get("note", "")
    if kind == "resolved" and change:  # a change is carried out, not a problem solved
        subject = _("%(number)s is completed: please confirm") % params
        body = (
            _("We completed change %(number)s. Please confirm that it was carried out as "
              "agreed, or tell us it was not, with the link below.") % params
        )  # fmt: skip
        return subject, _with_note(body, _("Our note"), note)
    if kind == "resolved":
        subject = _("%(number)s is resolved: please confirm") % params
        body = (
            _("We resolved ticket %(number)s. Please confirm that the problem is solved, or tell "
              "us it is not, with the link below.") % params
        )  # fmt: skip
        return subject, _with_note(body, _("Our note"), note)
    if kind == "reopened":
        subject = _("%(number)s is reopened") % params
        return subject, _with_note(
            _("Ticket %(number)s is open again (%(status)s).") % params, _("Reason"), note
        )
    if kind == "withdrawn":
        subject = _("%(number)s is withdrawn") % params
        return subject, _with_note(
            _("Ticket %(number)s was withdrawn by its reporter and is closed.") % params,
            _("Reason"),
            note,
        )
    if kind == "closed":
        subject = _("%(number)s is closed") % params
        return subject, _with_note(_("Ticket %(number)s is closed.") % params, _("Note"), note)
    subject = _("%(number)s is now “%(status)s”") % params
    return subject, _with_note(
        _("The status of ticket %(number)s is now “%(status)s”.") % params, _("Note"), note
    )


def _level_label(code):
    return str(Level(code).label) if code in Level.values else code


def links(notification, ticket, absolute):
    """Links a customer message carries: confirm/reject when resolved, one per rating score."""
    ctx = notification.context or {}
    url = absolute(ticket.get_absolute_url())
    if ctx.get("kind") == "resolved":
        return {"confirm_url": url + "#resolution", "confirm_change": ticket.kind == Kind.CHANGE}
    if ctx.get("event") == CustomerEvent.RATING:
        rate = absolute(reverse("ticket-rating", args=[ticket.number]))
        return {"rating_urls": [(score, f"{rate}?score={score}") for score in RATING_SCORES]}
    return {}
