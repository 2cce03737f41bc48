"""Maintenance notifications: who is told, how it is published, and how it reads.

Publishing: `announce` and `publish` write one row per subscriber into the escalation app's
outbox (`escalation.outbox.notify_all`, ticket=None, template "maintenance_*", context
{"notice", "update"}) and one webhook event per affected organisation; the dedup keys make each
happen once. Delivery stays with escalation.

Reading: this module words and renders those rows, always for one recipient: a customer reads
only their own organisation's part of a notice (organisations, services).
`install_delivery_hook()` registers `message_for` and `render_email` with
`escalation.delivery.register_renderer` for the "maintenance_*" rows; every other row stays with
escalation.
"""

import hashlib
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from escalation import delivery
from escalation.models import Channel, Notification
from escalation.outbox import notify_all
from escalation.webhooks.events import notify_webhooks
from pim.models import STAFF_ROLES, Organization, User

from .models import Event, Kind, MaintenanceNotice, MaintenanceUpdate, Status, Subscription

PREFIX = "maintenance_"


# --- who is told ----------------------------------------------------------------------------


def affected_services(notice: MaintenanceNotice) -> dict[int, set[int]]:
    """{organization id: set of service ids} the notice names, per organisation (an organisation
    without listed services is affected in all its services: empty set)."""
    by_org = {}
    for org_id, service_id in notice.services.values_list("organization_id", "pk"):
        by_org.setdefault(org_id, set()).add(service_id)
    return by_org


def subscribers(notice: MaintenanceNotice) -> list[User]:
    """The users to tell: subscribers of an affected organisation (for an affected service, or
    all services) who are users of that organisation, or provider staff. Never anybody else."""
    subs = Subscription.objects.filter(user__is_active=True).select_related("user__membership")
    if not notice.all_organizations:
        subs = subs.filter(organization__in=notice.organizations.all())
    subs = subs.filter(
        Q(user__membership__organization=F("organization"))
        | Q(user__membership__role__in=sorted(STAFF_ROLES))
    )
    listed = affected_services(notice)
    users = {}
    for sub in subs:
        wanted = listed.get(sub.organization_id)
        if sub.service_id is None or not wanted or sub.service_id in wanted:
            users[sub.user_id] = sub.user
    return [users[pk] for pk in sorted(users)]


# --- publishing -----------------------------------------------------------------------------


def _channels(notice):
    if notice.kind == Kind.EMERGENCY:
        return (Channel.EMAIL, Channel.IN_APP)
    return (Channel.EMAIL,)


def _webhook_data(notice):
    """A notice as a webhook sees it: no list of the other organisations it affects."""
    return {
        "id": notice.pk,
        "title": notice.title,
        "kind": notice.kind,
        "status": notice.status,
        "impact": notice.impact,
        "starts_at": notice.starts_at.isoformat(),
        "ends_at": notice.ends_at.isoformat(),
        "emergency_scenario": notice.emergency_scenario,
    }


def _webhooks(notice, event_key):
    orgs = (
        Organization.objects.filter(is_active=True)
        if notice.all_organizations
        else notice.organizations.all()
    )
    event = "maintenance.announced" if event_key == "announce" else "maintenance.updated"
    data = _webhook_data(notice)
    for org in orgs:
        notify_webhooks(org, event, data, key=f"m{notice.pk}:{event_key}")


def _notify(notice, event_key, template, now, context=None):
    _webhooks(notice, event_key)
    return notify_all(
        subscribers(notice),
        channels=_channels(notice),
        ticket=None,
        trigger=f"maintenance:{notice.pk}:{event_key}",
        template=template,
        context={"notice": notice.pk, **(context or {})},
        now=now,
    )


def announce(notice: MaintenanceNotice, now: datetime | None = None) -> list[Notification]:
    """The announcement to every subscriber, once per notice (the dedup key)."""
    return _notify(notice, "announce", "maintenance_announce", now or timezone.now())


def publish(
    notice: MaintenanceNotice, update: MaintenanceUpdate, now: datetime | None = None
) -> list[Notification]:
    """A timeline entry to every subscriber, once per entry."""
    template = (
        "maintenance_completed"
        if update.event == Event.STATUS and update.status == Status.COMPLETED
        else "maintenance_update"
    )
    return _notify(notice, update.pk, template, now or timezone.now(), {"update": update.pk})


# --- how it reads ---------------------------------------------------------------------------


def is_maintenance(notification):
    return (notification.template or "").startswith(PREFIX)


def _window(notice):
    start = timezone.localtime(notice.starts_at)
    end = timezone.localtime(notice.ends_at)
    end_format = "H:i" if start.date() == end.date() else "l j F Y H:i"
    return f"{date_format(start, 'l j F Y H:i')} – {date_format(end, end_format)}"


def scope_for(notice, user):
    """(organisation names, service names) of the notice that `user` may read."""
    org_id = None if user.is_provider_staff else user.organization_id_or_none
    if notice.all_organizations:
        orgs = [_("all organisations")] if org_id is None else []
    else:
        orgs = [o.name for o in notice.organizations.all() if org_id is None or o.pk == org_id]
    services = [
        s.name for s in notice.services.all() if org_id is None or s.organization_id == org_id
    ]
    return orgs, services


def prefetch(notifications):
    """Load the notices (with their organisations and services) and updates of many rows at
    once (escalation.delivery.messages_for: the bell's list); message_for reads them from the
    rows."""
    notice_ids = {n.context.get("notice") for n in notifications} - {None}
    update_ids = {n.context.get("update") for n in notifications} - {None}
    with scopes_disabled():
        notices = MaintenanceNotice.objects.prefetch_related("organizations", "services").in_bulk(
            [pk for pk in notice_ids if isinstance(pk, int)]
        )
        updates = MaintenanceUpdate.objects.in_bulk(
            [pk for pk in update_ids if isinstance(pk, int)]
        )
    for n in notifications:
        n._maintenance = (
            notices.get(n.context.get("notice")),
            updates.get(n.context.get("update")),
        )


def _notice_and_update(notification):
    if hasattr(notification, "_maintenance"):
        return notification._maintenance
    with scopes_disabled():
        notice = MaintenanceNotice.objects.filter(pk=notification.context.get("notice")).first()
        update_id = notification.context.get("update")
        update = MaintenanceUpdate.objects.filter(pk=update_id).first() if update_id else None
    return notice, update


def message_for(notification):
    """(subject, body, extra) of a maintenance notification in the active language."""
    notice, update = _notice_and_update(notification)
    if notice is None:
        return _("Maintenance notice withdrawn"), "", {}
    params = {"title": notice.title, "kind": notice.get_kind_display(), "window": _window(notice)}
    if notification.template == "maintenance_announce":
        subject = _("Maintenance announced: %(title)s (%(window)s)") % params
        body = _("%(kind)s maintenance is planned for %(window)s.") % params
    elif notification.template == "maintenance_completed":
        subject = _("Maintenance completed: %(title)s") % params
        body = _("The maintenance “%(title)s” has been completed.") % params
    elif update is not None and update.event == "changed":
        subject = _("Maintenance changed: %(title)s (%(window)s)") % params
        body = _("The maintenance “%(title)s” has changed; it is now planned for %(window)s.") % (
            params
        )
    elif update is not None and update.status == Status.CANCELLED:
        subject = _("Maintenance cancelled: %(title)s") % params
        body = _("The maintenance “%(title)s” (%(window)s) has been cancelled.") % params
    elif update is not None and update.event == "status" and update.status == Status.IN_PROGRESS:
        subject = _("Maintenance started: %(title)s") % params
        body = _("The maintenance “%(title)s” has started.") % params
    else:
        subject = _("Maintenance update: %(title)s") % params
        body = _("There is news about the maintenance “%(title)s” (%(window)s).") % params
    if notice.kind == Kind.EMERGENCY:
        subject = _("Emergency: %(subject)s") % {"subject": subject}
    organizations, services = scope_for(notice, notification.recipient)
    extra = {
        "notice": notice,
        "update": update,
        "window": params["window"],
        "organizations": organizations,
        "services": services,
        "notice_url": f"{settings.PORTAL_BASE_URL}{notice.get_absolute_url()}",
    }
    return subject, body, extra


def render_email(notification):
    """The e-mail of one maintenance notification (text and HTML), in the recipient's language;
    templates email/<notification.template>.(txt|html)."""
    recipient = notification.recipient
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        subject, body, extra = message_for(notification)
        context = {
            "notification": notification,
            "recipient": recipient,
            "subject": subject,
            "body": body,
            "service_desk_phone": settings.SERVICE_DESK_PHONE,
            **extra,
        }
        name = notification.template if extra else "maintenance_update"
        text = render_to_string(f"email/{name}.txt", context)
        html = render_to_string(f"email/{name}.html", context)
    digest = hashlib.sha256(notification.dedup_key.encode()).hexdigest()[:24]
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
        headers={"Message-ID": f"<pim-{digest}@pim.local>", "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    return message


def install_delivery_hook():
    """Let escalation's delivery (and its bell page) word and render maintenance rows here."""
    delivery.register_renderer(PREFIX, message_for, render_email, prefetch)
