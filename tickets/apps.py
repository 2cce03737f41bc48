from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Tickets")

    def ready(self):
        # exports and models import the models, so not before the app registry is ready
        from django.db.models.signals import post_delete

        from . import export_jobs
        from .models import Export

        post_delete.connect(export_jobs.delete_file, sender=Export, dispatch_uid="export-file")
