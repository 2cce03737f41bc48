"""Copy each ticket's organisation, priority, registration month and "SLA applies" onto its
clocks (the compliance figures aggregate Clock rows alone), and the index that serves them."""

from zoneinfo import ZoneInfo

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FIELDS = ["organization", "priority", "month", "counted"]


def fill(apps, schema_editor):
    Clock = apps.get_model("sla", "Clock")
    if schema_editor.connection.vendor == "postgresql":  # one statement for millions of rows
        schema_editor.execute(
            "UPDATE sla_clock AS c SET organization_id = t.organization_id, "
            "priority = t.priority, "
            "month = date_trunc('month', t.reported_at AT TIME ZONE %s)::date, "
            "counted = NOT t.sla_not_applicable "
            "FROM tickets_ticket AS t WHERE t.id = c.ticket_id",
            [settings.TIME_ZONE],
        )
        return
    zone = ZoneInfo(settings.TIME_ZONE)
    batch = []
    for clock in Clock.objects.select_related("ticket").iterator(chunk_size=1000):
        ticket = clock.ticket
        clock.organization_id = ticket.organization_id
        clock.priority = ticket.priority
        clock.month = ticket.reported_at.astimezone(zone).date().replace(day=1)
        clock.counted = not ticket.sla_not_applicable
        batch.append(clock)
        if len(batch) == 1000:
            Clock.objects.bulk_update(batch, FIELDS)
            batch = []
    Clock.objects.bulk_update(batch, FIELDS)


class Migration(migrations.Migration):
    dependencies = [
        ("pim", "0004_idempotency_response_text"),
        ("sla", "0005_workaround"),
        ("tickets", "0003_workaround"),
    ]

    operations = [
        migrations.AddField(
            model_name="clock",
            name="organization",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="pim.organization",
            ),
        ),
        migrations.AddField(
            model_name="clock",
            name="priority",
            field=models.PositiveSmallIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="clock",
            name="month",
            field=models.DateField(null=True),
        ),
        migrations.AddField(
            model_name="clock",
            name="counted",
            field=models.BooleanField(default=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="clock",
            index=models.Index(
                condition=models.Q(("counted", True)),
                fields=[
                    "month", "organization", "priority", "target", "state",
                    "stopped_at", "paused", "due_at", "used_seconds",
                ],  # fmt: skip
                name="clock_compliance",
            ),
        ),
    ]
