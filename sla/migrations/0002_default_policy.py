"""The default calendars and SLA policy of SPEC §2 and §4."""

from datetime import time

from django.db import migrations

# (priority, target, unit, amount, average goal in minutes, always on 24/7)
INCIDENT = [
    (1, "response", "minutes", 30, None, False),
    (1, "restore", "minutes", 4 * 60, 2 * 60, False),
    (1, "resolution", "minutes", 12 * 60, None, False),
    (2, "response", "minutes", 60, None, False),
    (2, "restore", "minutes", 6 * 60, 3 * 60, False),
    (2, "resolution", "minutes", 16 * 60, None, False),
    (3, "response", "minutes", 2 * 60, None, False),
    (3, "restore", "minutes", 8 * 60, 4 * 60, False),
    (3, "resolution", "minutes", 48 * 60, None, False),
    (4, "response", "minutes", 6 * 60, None, False),
    (4, "restore", "minutes", 24 * 60, None, False),
    (4, "resolution", "minutes", 120 * 60, None, False),
]
# Change pickup (SPEC §4, seed §5.1): P1 same working day, P2 within 24 hours,
# P3–P5 within 3, 4 and 5 working days.
CHANGE = [
    (1, "pickup", "end_of_day", 0, None, False),
    (2, "pickup", "minutes", 24 * 60, None, True),
    (3, "pickup", "working_days", 3, None, False),
    (4, "pickup", "working_days", 4, None, False),
    (5, "pickup", "working_days", 5, None, False),
]


def create(apps, schema_editor):
    Calendar = apps.get_model("sla", "Calendar")
    OpeningHours = apps.get_model("sla", "OpeningHours")
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    PolicyTarget = apps.get_model("sla", "PolicyTarget")
    office, created = Calendar.objects.get_or_create(
        name="Kantoortijden NL",
        defaults={"always_open": False, "timezone": "Europe/Amsterdam", "holiday_country": "NL"},
    )
    if created:
        OpeningHours.objects.bulk_create(
            OpeningHours(calendar=office, weekday=d, opens=time(8), closes=time(17))
            for d in range(5)
        )
    always, _ = Calendar.objects.get_or_create(
        name="24/7", defaults={"always_open": True, "timezone": "Europe/Amsterdam"}
    )
    policy, created = SlaPolicy.objects.get_or_create(
        name="Standaard SLA",
        defaults={
            "office_calendar": office,
            "always_calendar": always,
            "at_risk_share": "0.75",
            "always_priorities": "1,2",
        },
    )
    if created:
        PolicyTarget.objects.bulk_create(
            PolicyTarget(
                policy=policy, kind=kind, priority=p, target=t, unit=u, amount=a,
                average_goal_minutes=goal, always_calendar=always_cal,
            )
            for kind, rows in (("incident", INCIDENT), ("change", CHANGE))
            for p, t, u, a, goal, always_cal in rows
        )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
