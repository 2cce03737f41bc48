"""The words of the bundle notices (billing/bundles.py writes them to the outbox): a bundle
recalculated 12 months after purchase, and the balance fallen below the contact's threshold.
Neither names a ticket; both lead to the bundle statement (`url` in the context)."""

from contextlib import suppress
from datetime import date

from django.utils import formats
from django.utils.translation import gettext as _

from escalation import delivery

from .bundles import RECALCULATED, hours_text

PREFIX = "bundle_"


def _int(context, key):
    value = context.get(key)
    return value if isinstance(value, int) else 0


def message_for(notification):
    context = notification.context or {}
    if notification.template == RECALCULATED:
        day = context.get("purchased_on", "")
        with suppress(TypeError, ValueError):
            day = formats.date_format(date.fromisoformat(day), "DATE_FORMAT")
        params = {
            "date": day,
            "before": hours_text(_int(context, "before")),
            "after": hours_text(_int(context, "after")),
            "old_rate": context.get("old_rate", ""),
            "new_rate": context.get("new_rate", ""),
        }
        subject = _("Your hour bundle of %(date)s is recalculated") % params
        body = (
            _(
                "Twelve months after its purchase, the hours left on your hour bundle of %(date)s "
                "are recalculated at this year's bundle rate, keeping their value: %(before)s "
                "hours at EUR %(old_rate)s become %(after)s hours at EUR %(new_rate)s. The "
                "bundle statement in the portal shows every purchase and draw."
            )
            % params
        )
        return subject, body, {}
    params = {
        "balance": hours_text(_int(context, "balance_minutes")),
        "threshold": _int(context, "threshold_hours"),
    }
    subject = _("Your hour bundles are running low")
    body = (
        _(
            "The hours left on your organisation's hour bundles (%(balance)s) fell below the "
            "%(threshold)s hours you chose. Work that no bundle covers is billed monthly. The "
            "bundle statement in the portal shows every purchase and draw."
        )
        % params
    )
    return subject, body, {}


def render_email(notification):
    return delivery.compose_email(notification, message_for)


def install_renderer():
    delivery.register_renderer(PREFIX, message_for, render_email)
