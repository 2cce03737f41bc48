from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """Personal data (AVG/GDPR): retention with anonymisation, and access-request exports.

    The top of the layering: it reads and rewrites the other apps' rows; no app imports it."""

    name = "privacy"
    verbose_name = _("Privacy")
