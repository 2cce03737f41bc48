from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChangesConfig(AppConfig):
    name = "changes"
    verbose_name = _("Change requests")

    def ready(self):
        # Importing the modules connects their receivers and registers the extension points;
        # they import models, so they cannot be imported before the app registry is ready.
        from sla.services import register_next_check

        from . import extensions, notifications, receivers, reminders  # noqa: F401

        extensions.register()
        register_next_check(reminders.next_check)
        notifications.install_renderer()
