from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = _("Escalation and notifications")

    def ready(self):
        # Importing the modules connects their receivers and registers the extension points;
        # they import models, so they cannot be imported before the app registry is ready.
        from sla.services import register_next_check
        from sla.sweep import register_sweep_context

        from . import closing, extensions, matrix, receivers, reminders, sla_reports  # noqa: F401
        from .webhooks import events as webhook_events

        register_next_check(reminders.next_check)
        register_sweep_context(matrix.triggers_cached)
        register_sweep_context(webhook_events.endpoints_pinned)
        extensions.register()
        closing.install_renderer()
        sla_reports.install_renderer()
        sla_reports.install_report_source()
