"""Delivering outbox rows (DESIGN §2 step 5): claim, send, mark sent — exactly once.

A delivery first claims its row with a conditional UPDATE (pending → sending), so a task that
the broker delivers twice (acks_late, a redelivery after the visibility timeout, the relay) finds
the row taken and sends nothing. A claim left behind by a killed worker goes stale after
STALE_CLAIM and the relay hands the row out again. Failures go back to pending with backoff.
"""

import hashlib
import logging
from contextlib import suppress
from datetime import date

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_scopes import scopes_disabled

from sla.models import Target

from . import customer_messages
from .acknowledge import acknowledge_token
from .models import (
    Channel,
    Escalation,
    Level,
    Notification,
    NotificationStatus,
    Trigger,
    TriggerEvent,
)
from .outbox import DELIVERED_CHANNELS, STALE_CLAIM, backoff
from .webhooks import transport

log = logging.getLogger(__name__)

REMINDER_TEXT = {
    "update": (
        gettext_noop("Progress update due for %(number)s"),
        gettext_noop(
            "Ticket %(number)s (P%(priority)s) has had no public progress update for its update "
            "interval. Post an update for the customer."
        ),
    ),
    "waiting_for_customer": (
        gettext_noop("We are waiting for your reaction on %(number)s"),
        gettext_noop(
            "We asked you for information on ticket %(number)s and have not heard from you. "
            "Please react in the portal; without a reaction we will close the ticket."
        ),
    ),
    "closed_no_reaction": (
        gettext_noop("Ticket %(number)s closed"),
        gettext_noop(
            "We did not hear from you, so we closed ticket %(number)s. If the problem persists, "
            "please open a new ticket."
        ),
    ),
    "response_received": (
        gettext_noop("Customer reacted on %(number)s: follow up"),
        gettext_noop(
            "The customer reacted on ticket %(number)s two working days ago. Follow up now."
        ),
    ),
    "waiting_for_supplier": (
        gettext_noop("Chase the supplier for %(number)s"),
        gettext_noop(
            "Ticket %(number)s has been waiting for the supplier for three working days. Chase "
            "the supplier; the customer was sent an update."
        ),
    ),
    "pir": (
        gettext_noop("Post-incident report due for %(number)s"),
        gettext_noop(
            "The post-incident report (PIR) of P1 ticket %(number)s is due. File it and share it "
            "with everybody involved."
        ),
    ),
}


def _sla_document_texts(context):
    """A new version of the organisation's SLA document (sla.documents): its number and the
    date it takes effect."""
    params = {"number": context.get("number", ""), "date": context.get("effective_from", "")}
    with suppress(TypeError, ValueError):
        params["date"] = formats.date_format(date.fromisoformat(params["date"]), "DATE_FORMAT")
    subject = _("New version %(number)s of your SLA") % params
    body = (
        _(
            "Version %(number)s of your SLA document takes effect on %(date)s. You can read it "
            "in the portal under SLA documents."
        )
        % params
    )
    return subject, body


def _sla_announcement_texts(context):
    subject, body = _sla_document_texts(context)
    if context.get("objection_due"):
        params = {"due": _format_date(context["objection_due"])}
        body += " " + (
            _(
                "This is a Major Change: its terms are worse for you. You may object until "
                "%(due)s, in the portal under SLA documents."
            )
            % params
        )
    return subject, body


def _format_date(value):
    with suppress(TypeError, ValueError):
        return formats.date_format(date.fromisoformat(value), "DATE_FORMAT")
    return value or ""


# The steps of a Major Change route and the reminders before a version takes effect
# (sla.majorchange), by the step in the notification's context.
SLA_ROUTE_TEXT = {
    "effect": (
        gettext_noop("SLA version %(number)s takes effect on %(applies)s"),
        gettext_noop(
            "Version %(number)s of your SLA document takes effect on %(applies)s. You can read "
            "it in the portal under SLA documents."
        ),
    ),
    "objection_reminder": (
        gettext_noop("Object to SLA version %(number)s until %(due)s"),
        gettext_noop(
            "Version %(number)s of your SLA document is a Major Change. You may object until "
            "%(due)s, with your reason, in the portal under SLA documents."
        ),
    ),
    "objected": (
        gettext_noop("%(organization)s objects to SLA version %(number)s"),
        gettext_noop(
            "%(organization)s objected to the Major Change of SLA version %(number)s. Analyse "
            "it, consult the customer and record the consultation by %(due)s."
        ),
    ),
    "consultation_reminder": (
        gettext_noop("Consultation on SLA version %(number)s due %(due)s"),
        gettext_noop(
            "The consultation with %(organization)s on the objection to SLA version "
            "%(number)s is due by %(due)s. Record it under SLA documents."
        ),
    ),
    "consulted": (
        gettext_noop("The provider consulted on SLA version %(number)s"),
        gettext_noop(
            "The provider recorded its analysis and consultation on your objection to SLA "
            "version %(number)s. Both sides may agree until %(due)s."
        ),
    ),
    "agreement_reminder": (
        gettext_noop("Agreement on SLA version %(number)s due %(due)s"),
        gettext_noop(
            "The term to agree on SLA version %(number)s of %(organization)s ends on %(due)s. "
            "Without agreement the customer may terminate free of charge."
        ),
    ),
    "agreed": (
        gettext_noop("SLA version %(number)s agreed"),
        gettext_noop(
            "The Major Change of SLA version %(number)s of %(organization)s was agreed. It "
            "applies from %(applies)s."
        ),
    ),
    "no_agreement": (
        gettext_noop("No agreement on SLA version %(number)s"),
        gettext_noop(
            "No agreement on SLA version %(number)s of %(organization)s was reached in time. "
            "The customer may terminate free of charge until %(due)s; otherwise the version "
            "applies after that day."
        ),
    ),
    "termination_reminder": (
        gettext_noop("Free termination possible until %(due)s"),
        gettext_noop(
            "You may terminate the SLA free of charge until %(due)s because of the Major "
            "Change of version %(number)s; otherwise the version applies after that day."
        ),
    ),
    "terminated": (
        gettext_noop("SLA terminated by %(organization)s"),
        gettext_noop(
            "%(organization)s terminated the SLA because of the Major Change of version "
            "%(number)s. The termination takes effect on %(terminates)s; until then the "
            "current terms apply."
        ),
    ),
    "lapsed": (
        gettext_noop("SLA version %(number)s applies from %(applies)s"),
        gettext_noop(
            "The SLA of %(organization)s was not terminated in time: version %(number)s "
            "applies from %(applies)s."
        ),
    ),
}


def _sla_route_texts(context):
    params = {
        "number": context.get("number", ""),
        "organization": context.get("organization", ""),
        **{name: _format_date(context.get(name, "")) for name in ("due", "applies", "terminates")},
    }
    subject, body = SLA_ROUTE_TEXT.get(context.get("step"), SLA_ROUTE_TEXT["effect"])
    return _(subject) % params, _(body) % params


def _texts():
    """The reminder texts in the active language."""
    return {rule: (_(subject), _(body)) for rule, (subject, body) in REMINDER_TEXT.items()}


def trigger_label(code, triggers=None):
    """Why an escalation was raised, for people: "Response breached", "Customer escalation".
    `triggers` ({code: Trigger}) spares a query per call on a list."""
    if code.startswith("customer"):
        return _("customer escalation")
    if triggers is not None:
        trigger = triggers.get(code)
    else:
        trigger = Trigger.objects.filter(code=code).first()
    if trigger is None:
        return code
    if trigger.event == TriggerEvent.REGISTERED:
        return _("P1 at registration") if trigger.priorities == "1" else _("at registration")
    target = Target(trigger.target).label if trigger.target in Target.values else trigger.target
    if trigger.event == TriggerEvent.AT_RISK:
        return _("%(target)s at risk") % {"target": target}
    return _("%(target)s breached") % {"target": target}


def _absolute(path):
    return f"{settings.PORTAL_BASE_URL}{path}"


# Other apps word and render their own notifications: template prefix -> (message_for,
# render_email). Maintenance registers "maintenance_" in its AppConfig.ready().
_renderers = {}
_prefetchers = {}


def register_renderer(prefix, message_for_fn, render_email_fn, prefetch_fn=None):
    """`prefetch_fn(notifications)` (optional) loads what `message_for_fn` reads for many rows
    at once and keeps it on them: a list of notifications costs a constant number of queries."""
    _renderers[prefix] = (message_for_fn, render_email_fn)
    if prefetch_fn is not None:
        _prefetchers[prefix] = prefetch_fn


def messages_for(notifications):
    """[(subject, body, extra)] of many notifications (the bell's list) in a constant number of
    queries: escalation triggers read once, each other app's rows prefetched by its hook.
    The rows should come with their ticket and escalation (select_related)."""
    notifications = list(notifications)
    for prefix, prefetch in _prefetchers.items():
        mine = [n for n in notifications if n.template.startswith(prefix)]
        if mine:
            prefetch(mine)
    triggers = None
    if any(n.template == "escalation" for n in notifications):
        triggers = {t.code: t for t in Trigger.objects.all()}
    return [message_for(n, triggers=triggers) for n in notifications]


def _renderer(notification):
    return next((r for p, r in _renderers.items() if notification.template.startswith(p)), None)


def message_for(notification, triggers=None):
    """(subject, body, extra) of a notification in the active language (pages and e-mails).
    `triggers` ({code: Trigger}) spares a query per escalation row on a list."""
    if renderer := _renderer(notification):
        return renderer[0](notification)

    ticket = notification.ticket
    params = {
        "number": ticket.number if ticket else "",
        "title": ticket.title if ticket else "",
        "priority": ticket.priority if ticket else "",
    }
    extra = {}
    if notification.template == "receipt":
        subject = _("We received your report %(number)s") % params
        body = (
            _(
                "Thank you for your report. Your ticket number is %(number)s; please mention it "
                "whenever you contact us about “%(title)s”."
            )
            % params
        )
    elif notification.template == "escalation":
        escalation = (
            notification.escalation
            or Escalation.objects.filter(pk=notification.context.get("escalation")).first()
        )
        level = Level(escalation.level).label if escalation else notification.level
        params["level"] = level
        params["why"] = trigger_label(
            escalation.trigger if escalation else notification.trigger, triggers
        )
        subject = _("Escalation %(level)s (%(why)s): %(number)s %(title)s") % params
        body = (
            _(
                "Ticket %(number)s (P%(priority)s) is escalated to level %(level)s. Please "
                "acknowledge that you take it up; unacknowledged it goes to the next deputy."
            )
            % params
        )
        if escalation is not None:
            extra["escalation"] = escalation
            if escalation.reason:
                extra["reason"] = escalation.reason
            token = acknowledge_token(escalation, notification.recipient)
            extra["ack_url"] = _absolute(reverse("escalation-ack-link", args=[token]))
    elif notification.template == "sla_document":
        subject, body = _sla_announcement_texts(notification.context or {})
    elif notification.template == "sla_route":
        subject, body = _sla_route_texts(notification.context or {})
    elif notification.template in (customer_messages.TEMPLATE, customer_messages.STAFF_TEMPLATE):
        subject, body, extra = customer_messages.message(notification, params)
        if ticket is not None:
            extra.update(customer_messages.links(notification, ticket, _absolute))
    else:
        rule = notification.context.get("rule", "update")
        subject, body = _texts().get(rule, _texts()["update"])
        subject, body = subject % params, body % params
    return subject, body, extra


def render_email(notification):
    if renderer := _renderer(notification):
        return renderer[1](notification)
    return compose_email(notification, message_for)


def compose_email(notification, message_for_fn):
    """The e-mail of a ticket notification worded by `message_for_fn`, in the recipient's
    language (email/notification.txt and .html)."""
    recipient = notification.recipient
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        subject, body, extra = message_for_fn(notification)
        ticket = notification.ticket
        context = {
            "notification": notification,
            "recipient": recipient,
            "ticket": ticket,
            "subject": subject,
            "body": body,
            "ticket_url": _absolute(ticket.get_absolute_url()) if ticket else "",
            "service_desk_phone": settings.SERVICE_DESK_PHONE,
            **extra,
        }
        text = render_to_string("email/notification.txt", context)
        html = render_to_string("email/notification.html", context)
    digest = hashlib.sha256(notification.dedup_key.encode()).hexdigest()[:24]
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
        # The same Message-ID for the same dedup key: even a resend is recognisable.
        headers={
            "Message-ID": f"<pim-{digest}@pim.local>",
            # Mark it machine-sent so auto-responders do not answer it (no mail loops).
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def claim(notification_id, now):
    stale = now - STALE_CLAIM
    return (
        Notification.objects.filter(pk=notification_id, channel__in=DELIVERED_CHANNELS)
        .filter(
            Q(status=NotificationStatus.PENDING)
            | Q(status=NotificationStatus.SENDING, claimed_at__lt=stale)
        )
        .update(status=NotificationStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )


def _escalation_closed_before_delivery(notification) -> bool:
    """An escalation e-mail whose ticket was resolved or closed before it went out (a late
    relay after an outage): there is nothing left to save, so it is not sent."""
    escalation = notification.escalation
    return (
        notification.template == "escalation"
        and escalation is not None
        and escalation.closed_at is not None
    )


def deliver(notification_id, now=None):
    """Send one notification if nobody else has; True when this call sent it."""
    now = now or timezone.now()
    with scopes_disabled():
        if not claim(notification_id, now):
            return False
        notification = Notification.objects.select_related("recipient", "ticket", "escalation").get(
            pk=notification_id
        )
        if _escalation_closed_before_delivery(notification):
            Notification.objects.filter(pk=notification_id).update(
                status=NotificationStatus.SKIPPED, claimed_at=None
            )
            return False
        if notification.channel == Channel.WEBHOOK:
            return transport.send(notification, now)
        try:
            render_email(notification).send()
        except Exception as exc:  # noqa: BLE001 - recorded on the row, retried by the relay
            failed = notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
            claimed = Notification.objects.filter(
                pk=notification_id, status=NotificationStatus.SENDING
            )
            claimed.update(
                status=NotificationStatus.FAILED if failed else NotificationStatus.PENDING,
                last_error=f"{exc.__class__.__name__}: {exc}"[:300],
                next_attempt_at=now + backoff(notification.attempts),
                claimed_at=None,
            )
            log.warning(
                "notification %s failed (attempt %s): %s",
                notification_id,
                notification.attempts,
                exc.__class__.__name__,
            )
            return False
        Notification.objects.filter(pk=notification_id).update(
            status=NotificationStatus.SENT, sent_at=timezone.now(), claimed_at=None
        )
        return True
