"""Login and password-reset pages with the brute-force limits (pim.security.bruteforce)."""

from django.contrib.auth import views as auth_views

from . import bruteforce, twofactor
from .clientip import client_ip
from .passwords import BackgroundPasswordResetForm


def _too_many(response, wait):
    response.status_code = 429
    response["Retry-After"] = str(wait)
    return response


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True
    extra_context = {"demo_totp_secret": twofactor.DEMO_TOTP_SECRET}

    def form_invalid(self, form):
        wait = getattr(self.request, "sign_in_wait", 0)
        if not wait:
            return super().form_invalid(form)
        context = self.get_context_data(
            form=form, wait_message=bruteforce.sign_in_wait_message(wait)
        )
        return _too_many(self.render_to_response(context), wait)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = BackgroundPasswordResetForm

    def post(self, request, *args, **kwargs):
        address = client_ip(request)
        wait = bruteforce.password_reset_wait(address)
        if wait:
            form = self.get_form()
            context = self.get_context_data(
                form=form, wait_message=bruteforce.password_reset_wait_message(wait)
            )
            return _too_many(self.render_to_response(context), wait)
        bruteforce.password_reset_requested(address)
        return super().post(request, *args, **kwargs)
