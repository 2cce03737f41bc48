"""Two-factor login (ASVS L2 V2.7/V2.8) on django-otp: a TOTP authenticator app plus one-time
recovery codes, required for provider staff (they see every organisation) and optional for
customers. API tokens are not affected. Every write of the feature lives here.

Recovery codes (80 random bits each) are django-otp static tokens, stored as a digest of the
code (the model holds 16 characters: 16 characters of base64 of its SHA-256), never the code.
"""

import base64
import hashlib
import math
import secrets
import time
from binascii import unhexlify

import segno
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODE_COUNT = 10
SESSION_REQUIRED_KEY = "pim_2fa_required"
# The demo's authenticator secret (seed_demo, only in demo mode); README and the login page
# document it. Base32 of the 20 bytes b"pim-demo-totp-secret".
DEMO_TOTP_SECRET = base64.b32encode(b"pim-demo-totp-secret").decode()
DEMO_TOTP_KEY = b"pim-demo-totp-secret".hex()


# --- reading ------------------------------------------------------------------------------


def is_required(user):
    """Staff always; a customer once they set it up."""
    return user.is_provider_staff or has_device(user)


def required_for_session(request):
    """`is_required` remembered in the session (one query per login, not per request)."""
    user = request.user
    remembered = request.session.get(SESSION_REQUIRED_KEY)
    if remembered and remembered[0] == user.pk:
        return remembered[1]
    required = is_required(user)
    request.session[SESSION_REQUIRED_KEY] = [user.pk, required]
    return required


@receiver(user_logged_in, dispatch_uid="pim.security.twofactor.remember")
def _remember_at_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_REQUIRED_KEY] = [user.pk, is_required(user)]


def has_device(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def authenticator(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def recovery_codes_left(user):
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def secret(device):
    """The base32 secret an authenticator app takes by hand."""
    return base64.b32encode(unhexlify(device.key)).decode()


def grouped(text, size=4):
    return " ".join(text[i : i + size] for i in range(0, len(text), size))


def qr_svg(device):
    """The otpauth:// URL as an inline SVG QR code, made on the server."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4, border=2)


def current_code(device, at=None):
    """The code the device's app shows now (the demo hint; tests sign in with it). A code
    can be used once: after a sign-in within the same 30 seconds this is the next step's."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    if totp.t() <= device.last_t:
        totp.time += (device.last_t + 1 - totp.t()) * device.step
    return f"{totp.token():0{device.digits}d}"


def is_demo_device(device):
    return settings.DEMO_MODE and device is not None and device.key == DEMO_TOTP_KEY


def _recovery_digest(code):
    normalized = "".join(code.split()).replace("-", "").lower()
    return base64.urlsafe_b64encode(hashlib.sha256(normalized.encode()).digest()).decode()[:16]


# --- writing ------------------------------------------------------------------------------


def pending_authenticator(user):
    """The not yet confirmed device of a set-up in progress (the same secret on a reload)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@transaction.atomic
def confirm_authenticator(request, device, code):
    """Check the first code from the app; on success the device replaces any earlier one,
    the session counts as verified and new recovery codes are returned (shown once)."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=request.user)
    if not device.verify_token(code):
        return None
    TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)
    request.session[SESSION_REQUIRED_KEY] = [request.user.pk, True]
    return new_recovery_codes(request.user)


@transaction.atomic
def new_recovery_codes(user):
    """Replace the user's recovery codes with RECOVERY_CODE_COUNT new ones; returns them."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    codes = [
        grouped(base64.b32encode(secrets.token_bytes(10)).decode().lower()).replace(" ", "-")
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=_recovery_digest(code)) for code in codes
    )
    return codes


def verify(request, code):
    """The second step: a code from the app (digits) or a recovery code (used up). Returns
    (device or None, seconds to wait when django-otp's growing delay holds the device back)."""
    code = (code or "").strip()
    user = request.user
    digits = "".join(code.split())
    if digits.isascii() and digits.isdigit():
        candidates = [(TOTPDevice, digits)]
    else:
        candidates = [(StaticDevice, _recovery_digest(code))]
    with transaction.atomic():
        for model, token in candidates:
            for device in model.objects.filter(user=user, confirmed=True).select_for_update():
                allowed, info = device.verify_is_allowed()
                if not allowed:
                    until = (info or {}).get("locked_until") or timezone.now()
                    return None, max(1, math.ceil((until - timezone.now()).total_seconds()))
                if device.verify_token(token):
                    otp_login(request, device)
                    return device, 0
    return None, 0


def give_demo_authenticator(user):
    """seed_demo, in demo mode only: the documented secret DEMO_TOTP_SECRET."""
    TOTPDevice.objects.update_or_create(
        user=user, name="demo authenticator", defaults={"key": DEMO_TOTP_KEY, "confirmed": True}
    )


@transaction.atomic
def switch_off(user):
    """A customer turns two-factor login off (staff cannot: it is required for them)."""
    if user.is_provider_staff:
        raise PermissionError("two-factor login is required for provider staff")
    for device in devices_for_user(user, confirmed=None):
        device.delete()
