"""The notice that an incident's time is billable after all (seed 004: whether an incident is
within the SLA's scope is often known only later). Its reporter and the organisation's
authorised contacts are told once per ticket and reason, through the escalation outbox."""

from django.utils.translation import gettext as _

from escalation import delivery
from escalation.outbox import notify_all
from pim.models import Role, User

from .models import Category

PREFIX = "billing_"
BECAME_BILLABLE = "billing_time_billable"


def recipients(ticket, actor=None):
    people = {
        u.pk: u
        for u in User.objects.filter(
            is_active=True,
            membership__organization_id=ticket.organization_id,
            membership__role=Role.AUTHORISED_CONTACT,
        )
    }
    reporter = ticket.reporter
    if (
        reporter is not None
        and reporter.is_active
        and reporter.organization_id_or_none == ticket.organization_id
    ):
        people.setdefault(reporter.pk, reporter)
    people.pop(getattr(actor, "pk", None), None)
    return list(people.values())


def became_billable(ticket, category, actor, now):
    """`category`: the billable category the incident's time moved to (the reason told)."""
    notify_all(
        recipients(ticket, actor),
        ticket=ticket,
        trigger=f"time-billable:{category}",
        template=BECAME_BILLABLE,
        context={"category": str(category)},
        now=now,
    )


def message_for(notification):
    ticket = notification.ticket
    category = (notification.context or {}).get("category", "")
    reason = Category(category).label if category in Category.values else category
    params = {
        "number": ticket.number if ticket else "",
        "title": ticket.title if ticket else "",
        "reason": reason,
    }
    subject = _("Time on %(number)s is billable") % params
    body = (
        _(
            "The time spent on incident %(number)s (%(title)s) is not covered by the SLA's "
            "monthly fee after all and is billed at the actual hours. The reason: %(reason)s. "
            "The ticket page lists the billable time."
        )
        % params
    )
    return subject, body, {}


def render_email(notification):
    return delivery.compose_email(notification, message_for)


def install_renderer():
    delivery.register_renderer(PREFIX, message_for, render_email)
