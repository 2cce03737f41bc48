"""How maintenance notifications read (e-mail and the portal's bell).

Maintenance writes its notifications into the escalation app's outbox
(`escalation.services.notify`, ticket=None, template "maintenance_*", context {"notice", "update"});
delivery stays there. This module words and renders those rows, always for one recipient: a
customer reads only their own organisation's part of a notice (organisations, services).

`install_delivery_hook()` registers this module with `escalation.delivery.register_renderer`
for the "maintenance_*" rows; every other row stays with escalation.
"""

import hashlib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from .models import Kind, MaintenanceNotice, MaintenanceUpdate, Status

PREFIX = "maintenance_"


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


def message_for(notification):
    """(subject, body, extra) of a maintenance notification in the active language."""
    with scopes_disabled():
        notice = MaintenanceNotice.objects.filter(pk=notification.context.get("notice")).first()
        update_id = notification.context.get("update")
        update = MaintenanceUpdate.objects.filter(pk=update_id).first() if update_id else None
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
    from escalation import delivery

    delivery.register_renderer(PREFIX, message_for, render_email)
