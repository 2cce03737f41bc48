"""Personal API tokens: create (shown once), authenticate by digest, revoke."""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from .models import ApiToken

TOKEN_PREFIX = "pim_"
LAST_USED_PRECISION = timedelta(minutes=1)
MAX_ACTIVE_TOKENS = 20


def digest(key):
    return hashlib.sha256(key.encode()).hexdigest()


def create_token(user, name):
    """A new token for `user`; returns (token row, the key — shown to the user only now)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name, e.g. the integration using it.")})
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
        raise ValidationError({"name": _("You have too many active tokens; revoke one first.")})
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=key[: len(TOKEN_PREFIX) + 6], digest=digest(key)
    )
    return token, key


def revoke_token(token, user):
    if token.user_id != user.pk:
        raise ValidationError(_("This is not your token."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


class ApiTokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`; acts with its user's rights and never more."""

    keyword = "Token"

    def authenticate_credentials(self, key):
        try:  # the digest is unique: no ordering to compile
            token = ApiToken.objects.select_related("user__membership__organization").get(
                digest=digest(key), revoked_at__isnull=True
            )
        except ApiToken.DoesNotExist:
            token = None
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
