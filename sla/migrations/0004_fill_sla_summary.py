"""Fill the tickets' SLA summary columns (`next_due_at`, `sla_state`) from the stored clocks."""

from django.db import migrations


def fill(apps, schema_editor):
    from sla.services import rebuild_summaries

    rebuild_summaries(apps.get_model("tickets", "Ticket"), apps.get_model("sla", "Clock"))


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0003_sla_event"),
        ("tickets", "0002_sla_summary"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
