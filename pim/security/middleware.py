"""Two-factor login gate: after the password, a session of a user who needs a second factor
(pim.security.twofactor.is_required) reaches nothing but the second step, the set-up and
logout until a code is verified. Runs after django-otp's OTPMiddleware."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from . import twofactor


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._exempt = None

    def exempt(self, path):
        if self._exempt is None:
            names = ("logout", "two-factor-verify", "two-factor-setup", "set-language", "healthz")
            self._exempt = tuple(reverse(name) for name in names) + (
                "/" + settings.STATIC_URL.lstrip("/"),
            )
        return path.startswith(self._exempt)

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and not self.exempt(request.path)
            and twofactor.required_for_session(request)
        ):
            if request.path.startswith("/api/"):
                if "HTTP_AUTHORIZATION" in request.META:
                    return self.get_response(request)  # an API token speaks for itself
                return JsonResponse(
                    {"detail": _("Complete the two-factor sign-in in the portal first.")},
                    status=403,
                )
            name = "two-factor-verify" if twofactor.has_device(user) else "two-factor-setup"
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{reverse(name)}?{query}")
        return self.get_response(request)
