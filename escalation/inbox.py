"""The notification centre's reading of the outbox (issue 15, build item 6): what kind of message
a row is (for the filter on /notifications/) and where it leads (its ticket, maintenance notice,
or escalation: the acknowledge page while it waits for this person, else its row on
/escalations/)."""

from functools import reduce
from operator import or_

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import closing, customer_messages
from .acknowledge import acknowledge_token
from .models import CustomerEvent

_CUSTOMER = Q(template__in=[customer_messages.TEMPLATE, customer_messages.STAFF_TEMPLATE])


def _customer_event(*events):
    return _CUSTOMER & reduce(or_, (Q(trigger__startswith=f"{event}:") for event in events))


# (value, label, filter): every in-app row falls under exactly one kind.
KINDS = [
    (
        "update",
        _("Ticket updates"),
        _customer_event(CustomerEvent.UPDATE) | Q(template="review_published"),
    ),
    (
        "status",
        _("Status changes"),
        Q(template="receipt")
        | _customer_event(
            CustomerEvent.STATUS, CustomerEvent.WAITING, CustomerEvent.RATING, "withdrawn"
        ),
    ),
    ("priority", _("Priority changes"), _customer_event(CustomerEvent.PRIORITY)),
    (
        "escalation",
        _("Escalations"),
        Q(template__in=["escalation", closing.TEMPLATE])
        | _customer_event(CustomerEvent.ESCALATION),
    ),
    # the reviews app's notices: an overdue action is a reminder, a published review an update
    ("reminder", _("Reminders"), Q(template="reminder") | Q(template="review_action_overdue")),
    ("maintenance", _("Maintenance"), Q(template__startswith="maintenance_")),
    # the changes app's steps and its staff notices
    ("change", _("Changes"), Q(template__startswith="change_")),
    # the problems app: the monthly report, a workaround, a fix
    ("problem", _("Problems and known errors"), Q(template__startswith="problem_")),
    # billing (time that became billable), hour bundles and the SLA document's versions
    (
        "contract",
        _("Contract and billing"),
        Q(template__startswith="billing_")
        | Q(template__startswith="bundle_")
        | Q(template__startswith="sla_"),
    ),
]
_FILTERS = {value: condition for value, _label, condition in KINDS}


def kind_choices():
    return [(value, label) for value, label, _condition in KINDS]


def kind_filter(kind):
    """The Q of a kind, or None for an unknown one (the caller answers 400)."""
    return _FILTERS.get(kind)


def target(notification, user):
    """Where a notification leads, or None."""
    escalation = notification.escalation if notification.escalation_id else None
    if escalation is not None and notification.template in ("escalation", closing.TEMPLATE):
        if escalation.closed_at is None and escalation.acknowledged_at is None:
            return reverse("escalation-ack-link", args=[acknowledge_token(escalation, user)])
        return reverse("escalation-list") + f"?show=all#escalation-{escalation.pk}"
    if notification.ticket_id:
        return notification.ticket.get_absolute_url()
    notice = (notification.context or {}).get("notice")
    if notification.template.startswith("maintenance_") and isinstance(notice, int):
        return reverse("maintenance-detail", args=[notice])
    # A notification of no ticket may name its page (the monthly open-problem report).
    url = (notification.context or {}).get("url")
    if isinstance(url, str) and url.startswith("/") and not url.startswith("//"):
        return url
    return None
