from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = _("SLA")

    def ready(self):
        # Importing the modules connects their receivers and registers the extension points;
        # they import models, so they cannot be imported before the app registry is ready.
        from . import extensions, receivers, sweep  # noqa: F401

        extensions.register()
