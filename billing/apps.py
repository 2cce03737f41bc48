from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self):
        # The audit words are registered with tickets' extension points, the billable-time
        # notice with escalation's delivery; the modules import models, so they cannot be
        # imported before the app registry is ready.
        from . import bundle_notices, extensions, notifications

        extensions.register()
        notifications.install_renderer()
        bundle_notices.install_renderer()
