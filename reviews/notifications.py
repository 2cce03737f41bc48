"""Overdue actions of a post-incident review: their owner is reminded once per due date, on the
morning after it, through the escalation machinery (the SLA sweep evaluates the ticket, the
outbox delivers the e-mail and the bell exactly once)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import F
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from escalation import delivery
from escalation.outbox import notify_all
from pim.models import Role, User
from tickets.models import Kind, Status

from .models import ReviewAction

PREFIX = "review_"
TEMPLATE = "review_action_overdue"
PUBLISHED = "review_published"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
REMIND_AT = time(8, 0)  # the morning after the due date


def overdue_at(due):
    return datetime.combine(due + timedelta(days=1), REMIND_AT, tzinfo=AMSTERDAM)


def _watched(ticket):
    """A P1 incident that can have a review (services.has_review), resolved or closed."""
    return (
        ticket.kind == Kind.INCIDENT
        and ticket.priority == 1
        and ticket.status in (Status.RESOLVED, Status.CLOSED)
    )


def _unreminded(ticket):
    return (
        ReviewAction.objects.filter(review__ticket=ticket, done=False)
        .exclude(reminded_for=F("due"))
        .select_related("owner")
        .order_by("due", "pk")
    )


def next_check(ticket, now):
    """When the sweep must look at the ticket for an action that becomes overdue (registered
    with sla's next-check providers); no query for tickets that cannot have a review."""
    if not _watched(ticket):
        return None
    with scopes_disabled():
        due = _unreminded(ticket).values_list("due", flat=True).first()
    if due is None:
        return None
    return max(overdue_at(due), now + timedelta(seconds=1))


def remind_overdue(ticket, now) -> bool:
    """Remind the owners of the actions overdue now; True when one was reminded."""
    if not _watched(ticket):
        return False
    reminded = False
    with scopes_disabled():
        for action in _unreminded(ticket):
            if overdue_at(action.due) > now:
                break
            if action.owner.is_active:
                notify_all(
                    [action.owner],
                    ticket=ticket,
                    trigger=f"review-action:{action.pk}:{action.due.isoformat()}",
                    template=TEMPLATE,
                    context={"action": action.description[:300], "due": action.due.isoformat()},
                    now=now,
                )
            action.reminded_for = action.due
            action.save(update_fields=["reminded_for"])
            reminded = True
    return reminded


def published(review, actor, now):
    """The organisation's authorised contacts are told, once, that they can read the review."""
    ticket = review.ticket
    contacts = User.objects.filter(
        is_active=True,
        membership__organization_id=ticket.organization_id,
        membership__role=Role.AUTHORISED_CONTACT,
    ).exclude(pk=getattr(actor, "pk", None))
    notify_all(
        list(contacts),
        ticket=ticket,
        trigger=f"review-published:{review.pk}",
        template=PUBLISHED,
        now=now,
    )


def _day(iso):
    try:
        return date.fromisoformat(iso).strftime("%d-%m-%Y")
    except (TypeError, ValueError):
        return iso


def message_for(notification):
    ticket = notification.ticket
    if notification.template == PUBLISHED:
        params = {"number": ticket.number, "title": ticket.title} if ticket else {}
        return (
            _("The post-incident review of %(number)s is published") % params,
            _("The post-incident review of P1 incident %(number)s (%(title)s) is published: "
              "the timeline, the cause, the impact and the actions agreed on. Read it on the "
              "ticket page.") % params,
            {},
        )  # fmt: skip
    ctx = notification.context or {}
    params = {
        "number": ticket.number if ticket else "",
        "action": ctx.get("action", ""),
        "due": _day(ctx.get("due", "")),
    }
    subject = _("A review action of %(number)s is overdue") % params
    body = (
        _(
            "The action “%(action)s” of the post-incident review of %(number)s was due on "
            "%(due)s and is not done yet. Do it, or tick it off on the ticket page."
        )
        % params
    )
    return subject, body, {}


def render_email(notification):
    return delivery.compose_email(notification, message_for)


def install_renderer():
    delivery.register_renderer(PREFIX, message_for, render_email)
