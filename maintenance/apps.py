from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MaintenanceConfig(AppConfig):
    name = "maintenance"
    verbose_name = _("Maintenance")

    def ready(self):
        # Deferred: apps.py loads before the models; notifications imports them (AppConfig.ready).
        from sla import availability_queries

        from . import notifications, queries, reports

        notifications.install_delivery_hook()
        # availability (SPEC §9): announced and emergency maintenance is no downtime
        availability_queries.register_maintenance(queries.maintenance_intervals)
        # the monthly SLA report's maintenance done
        reports.install_report_source()
