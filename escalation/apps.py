from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = _("Escalation and notifications")

    def ready(self):
        from sla.services import register_next_check
        from sla.sweep import unrecorded_events_check

        from . import reminders

        register_next_check(unrecorded_events_check)
        register_next_check(reminders.next_check)
