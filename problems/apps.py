from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProblemsConfig(AppConfig):
    name = "problems"
    verbose_name = _("Problems and known errors")

    def ready(self):
        # Importing the modules connects their receivers and registers the extension points;
        # they import models, so they cannot be imported before the app registry is ready.
        from . import extensions, notifications, receivers, reports  # noqa: F401

        extensions.register()
        notifications.install_renderer()
        reports.install_report_source()  # the monthly SLA report's open problems
