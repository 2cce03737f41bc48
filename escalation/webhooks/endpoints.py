"""Managing an organisation's webhook endpoints: the page and the API both call these."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from pim.models import Organization
from pim.permissions import is_admin, may_manage_webhooks
from pim.scoping import organization_filter

from ..models import ALL_EVENTS, WebhookEndpoint, new_webhook_secret
from .addresses import validate_url


def endpoints_for(user):
    """The endpoints `user` may manage (tenant-scoped); none for anybody else."""
    if not may_manage_webhooks(user):
        return WebhookEndpoint.objects.none()
    return WebhookEndpoint.objects.filter(organization_filter(user)).order_by("-pk")


def get_endpoint_for(user, pk: int) -> WebhookEndpoint:
    """The one lookup for webhook pages: an endpoint `user` may manage, else 404."""
    return get_object_or_404(endpoints_for(user), pk=pk)


def create_endpoint(user, url: str, event_types=None, organization=None) -> WebhookEndpoint:
    """A new endpoint (URL checked against the SSRF rules); its secret is shown once."""
    if not may_manage_webhooks(user):
        raise PermissionDenied(_("Only authorised contacts and admins manage webhooks."))
    if not is_admin(user):
        organization = Organization.objects.get(pk=user.organization_id_or_none)
    elif organization is None:
        raise ValidationError({"organization": _("Choose the organisation.")})
    validate_url(url, allow_private=False)
    return WebhookEndpoint.objects.create(
        organization=organization, url=url, event_types=event_types or [ALL_EVENTS]
    )


def rotate_secret(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret; for 24 hours messages are signed with the old one too."""
    endpoint.previous_secret = endpoint.secret
    endpoint.secret = new_webhook_secret()
    endpoint.rotated_at = timezone.now()
    endpoint.save(update_fields=["previous_secret", "secret", "rotated_at"])
    return endpoint
