"""Password reset that answers every address the same way by construction: the request only
checks the form and hands the address to a Celery task; finding the account and sending the
mail happen in the worker (`pim.tasks.send_password_reset`)."""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.utils import translation

log = logging.getLogger(__name__)


class MailingPasswordResetForm(PasswordResetForm):
    """Django's form, mailing each account in its own language (run by the worker)."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        with translation.override(context["user"].language or settings.LANGUAGE_CODE):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


class BackgroundPasswordResetForm(PasswordResetForm):
    """The form the page uses: `save()` enqueues and does nothing that depends on the address
    belonging to an account."""

    def save(self, **kwargs):
        from pim import tasks  # deferred: pim.tasks imports this module for the worker

        try:
            tasks.send_password_reset.apply_async((self.cleaned_data["email"],), retry=False)
        except Exception as exc:  # noqa: BLE001 - the page answers the same; the user retries
            log.warning("password reset not enqueued (%s)", exc.__class__.__name__)


def send_reset_mail(email):
    """Mail a reset link to the active accounts with this address (none: nothing happens).
    Links point at PORTAL_BASE_URL, never at the Host header of the request."""
    form = MailingPasswordResetForm({"email": email})
    if not form.is_valid():
        return
    base = urlsplit(settings.PORTAL_BASE_URL)
    form.save(
        domain_override=base.netloc,
        use_https=base.scheme == "https",
        subject_template_name="registration/password_reset_subject.txt",
        email_template_name="registration/password_reset_email.txt",
        html_email_template_name=None,
    )
