from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Post-incident reviews")

    def ready(self):
        # The panel and the audit words are registered with tickets' extension points, the
        # overdue-action reminders with sla's next check and escalation's delivery; the modules
        # import models, so they cannot be imported before the app registry is ready.
        from sla import services as sla_services

        from . import extensions, notifications, receivers  # noqa: F401

        extensions.register()
        notifications.install_renderer()
        sla_services.register_next_check(notifications.next_check)
