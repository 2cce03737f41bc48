"""Acknowledging an escalation: the recipient takes it, and no deputy is called any more.
Managers acknowledge on `/escalations/`, through the API, or with the signed link in the e-mail.
"""

from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from pim.models import User
from pim.permissions import is_admin, is_provider_staff
from tickets.services import record_audit

from . import customer
from .models import CUSTOMER_TRIGGER, Escalation, Notification
from .webhooks import events as webhook_events

ACK_SALT = "escalation.acknowledge"
ACK_MAX_AGE = 14 * 24 * 3600


def may_acknowledge(escalation, user) -> bool:
    """Provider admins, and the staff this escalation was sent to."""
    if not is_provider_staff(user):
        return False
    if is_admin(user):
        return True
    return Notification.objects.filter(escalation=escalation, recipient=user).exists()


def acknowledge(escalation, user, now=None):
    """The recipient takes the escalation: no more deputies. Acknowledging twice is a no-op."""
    with scopes_disabled():
        if not may_acknowledge(escalation, user):
            raise PermissionDenied(_("Only a recipient of this escalation can acknowledge it."))
        now = now or timezone.now()
        with transaction.atomic():
            updated = Escalation.objects.filter(
                pk=escalation.pk, acknowledged_at__isnull=True, closed_at__isnull=True
            ).update(acknowledged_at=now, acknowledged_by=user, next_deputy_at=None)
            if updated:
                record_audit(
                    escalation.ticket,
                    user,
                    "escalation_acknowledged",
                    {"level": escalation.level},
                    obj=escalation,
                )
                if escalation.trigger.startswith(CUSTOMER_TRIGGER):
                    escalation.acknowledged_at = now
                    customer.escalation_acknowledged(escalation, user)
                    webhook_events.escalation_acknowledged(escalation)
        escalation.refresh_from_db()
    return escalation


def acknowledge_token(escalation, user) -> str:
    return signing.dumps({"e": escalation.pk, "u": user.pk}, salt=ACK_SALT, compress=True)


def read_acknowledge_token(token: str):
    """(escalation, user) from a signed link, or None when the link is invalid or expired."""
    try:
        data = signing.loads(token, salt=ACK_SALT, max_age=ACK_MAX_AGE)
    except signing.BadSignature:
        return None
    with scopes_disabled():
        escalation = Escalation.objects.select_related("ticket").filter(pk=data.get("e")).first()
        user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if escalation is None or user is None:
        return None
    return escalation, user
