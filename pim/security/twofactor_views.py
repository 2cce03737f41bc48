"""Pages of the two-factor login: the second step, the set-up (QR code), recovery codes."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache

from . import twofactor


def _next(request):
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}, request.is_secure()):
        return nxt
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(name, nxt):
    return f"{reverse(name)}?{urlencode({'next': nxt})}"


def _codes_page(request, codes, nxt):
    return render(request, "account/two_factor_codes.html", {"codes": codes, "next": nxt})


@never_cache
@login_required
def verify(request):
    """The second step after the password: a code from the app, or a recovery code."""
    nxt = _next(request)
    if request.user.is_verified():
        return redirect(nxt)
    device = twofactor.authenticator(request.user)
    if device is None:
        return redirect(_with_next("two-factor-setup", nxt))
    error, status, wait = None, 200, 0
    if request.method == "POST":
        verified, wait = twofactor.verify(request, request.POST.get("code", ""))
        if verified is not None:
            return redirect(nxt)
        if wait:
            error, status = (
                ngettext(
                    "Too many wrong codes. Try again in %(seconds)d second.",
                    "Too many wrong codes. Try again in %(seconds)d seconds.",
                    wait,
                )
                % {"seconds": wait},
                429,
            )
        else:
            error, status = _("That code is not right. Try the current code from your app."), 400
    context = {
        "next": nxt,
        "error": error,
        "demo_code": twofactor.current_code(device) if twofactor.is_demo_device(device) else "",
    }
    response = render(request, "account/two_factor_verify.html", context, status=status)
    if wait:
        response["Retry-After"] = str(wait)
    return response


@never_cache
@login_required
def setup(request):
    """Link an authenticator app: QR code and secret, then its first code; shows the
    recovery codes once."""
    nxt = _next(request)
    user = request.user
    if twofactor.has_device(user) and not user.is_verified():
        return redirect(_with_next("two-factor-verify", nxt))
    device = twofactor.pending_authenticator(user)
    error, status = None, 200
    if request.method == "POST":
        codes = twofactor.confirm_authenticator(request, device, request.POST.get("code", ""))
        if codes is not None:
            return _codes_page(request, codes, nxt)
        error, status = _("That code is not right. Enter the code your app shows now."), 400
    context = {
        "next": nxt,
        "error": error,
        "qr_svg": mark_safe(twofactor.qr_svg(device)),  # noqa: S308 - segno's own SVG markup
        "secret": twofactor.grouped(twofactor.secret(device)),
        "required": user.is_provider_staff,
    }
    return render(request, "account/two_factor_setup.html", context, status=status)


@never_cache
@login_required
def manage(request):
    """Two-factor status: set up or replace the app, new recovery codes, off (customers)."""
    user = request.user
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "recovery-codes" and twofactor.has_device(user):
            return _codes_page(request, twofactor.new_recovery_codes(user), reverse("two-factor"))
        if action == "off" and not user.is_provider_staff:
            twofactor.switch_off(user)
            request.session[twofactor.SESSION_REQUIRED_KEY] = [user.pk, False]
            messages.success(request, _("Two-factor login is off."))
            return redirect("two-factor")
        return render(request, "account/two_factor.html", _manage_context(user), status=400)
    return render(request, "account/two_factor.html", _manage_context(user))


def _manage_context(user):
    return {
        "enabled": twofactor.has_device(user),
        "codes_left": twofactor.recovery_codes_left(user),
        "required": user.is_provider_staff,
    }
