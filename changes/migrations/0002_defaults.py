"""The default escalation triggers of the change steps, and a change request for every change
ticket registered before the change path existed (the quote due 10 calendar days after receipt)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations

# (code, event, target, priorities, level): a missed quote notice or quote escalates.
TRIGGERS = [
    ("quote-notice-breached", "breached", "quote_notice", "", "low"),
    ("quote-breached", "breached", "quote", "", "middle"),
]


def create(apps, schema_editor):
    Trigger = apps.get_model("escalation", "Trigger")
    for code, event, target, priorities, level in TRIGGERS:
        Trigger.objects.get_or_create(
            code=code,
            defaults={"event": event, "target": target, "priorities": priorities, "level": level},
        )
    Ticket = apps.get_model("tickets", "Ticket")
    ChangeRequest = apps.get_model("changes", "ChangeRequest")
    zone = ZoneInfo(settings.TIME_ZONE)
    missing = Ticket.objects.filter(kind="change", change_request__isnull=True)
    rows = []
    for ticket in missing.iterator(chunk_size=1000):
        local = ticket.reported_at.astimezone(zone).replace(tzinfo=None) + timedelta(days=10)
        rows.append(ChangeRequest(ticket_id=ticket.pk, quote_due_at=local.replace(tzinfo=zone)))
    ChangeRequest.objects.bulk_create(rows, batch_size=1000)


def remove(apps, schema_editor):
    codes = [code for code, *_ in TRIGGERS]
    apps.get_model("escalation", "Trigger").objects.filter(code__in=codes).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("changes", "0001_initial"),
        ("escalation", "0006_notification_preferences"),
    ]

    operations = [migrations.RunPython(create, remove)]
