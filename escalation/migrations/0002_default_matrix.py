"""The escalation matrix and default triggers of SPEC §5 (editable in the admin)."""

from django.db import migrations

SUPPORT = "agent,oncall"
CSM = "csm"
OPS_MANAGER = "ops_manager"
OPS_DIRECTOR = "ops_director"
COMMERCIAL_DIRECTOR = "commercial_director"
GENERAL_DIRECTOR = "general_director"
BOARD = "ops_director,commercial_director,general_director"  # Directie

MATRIX = [
    ("low", SUPPORT, CSM, OPS_MANAGER),
    ("middle", CSM, OPS_MANAGER, OPS_DIRECTOR),
    ("high", OPS_MANAGER, OPS_DIRECTOR, BOARD),
    ("very_high", OPS_DIRECTOR, COMMERCIAL_DIRECTOR, GENERAL_DIRECTOR),
]

# (code, event, target, priorities, level)
TRIGGERS = [
    ("p1-registered", "registered", "", "1", "low"),
    ("response-breached", "breached", "response", "", "low"),
    ("restore-at-risk", "at_risk", "restore", "", "middle"),
    ("restore-breached", "breached", "restore", "", "high"),
    ("resolution-breached", "breached", "resolution", "", "very_high"),
    ("customer", "customer", "", "", "low"),
]


def create(apps, schema_editor):
    MatrixRow = apps.get_model("escalation", "MatrixRow")
    Trigger = apps.get_model("escalation", "Trigger")
    for level, owner, deputy1, deputy2 in MATRIX:
        MatrixRow.objects.update_or_create(
            level=level,
            defaults={"owner_roles": owner, "deputy1_roles": deputy1, "deputy2_roles": deputy2},
        )
    for code, event, target, priorities, level in TRIGGERS:
        Trigger.objects.update_or_create(
            code=code,
            defaults={"event": event, "target": target, "priorities": priorities, "level": level},
        )


def remove(apps, schema_editor):
    apps.get_model("escalation", "Trigger").objects.filter(
        code__in=[t[0] for t in TRIGGERS]
    ).delete()
    apps.get_model("escalation", "MatrixRow").objects.filter(
        level__in=[m[0] for m in MATRIX]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("escalation", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
