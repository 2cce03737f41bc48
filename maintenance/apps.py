from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MaintenanceConfig(AppConfig):
    name = "maintenance"
    verbose_name = _("Maintenance")

    def ready(self):
        # Deferred: apps.py loads before the models; notifications imports them (AppConfig.ready).
        from . import notifications

        notifications.install_delivery_hook()
