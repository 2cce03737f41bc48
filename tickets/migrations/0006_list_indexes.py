"""Indexes for every list a person opens (issue 14): each list's filter, then its order with the
id as tiebreaker; on PostgreSQL also trigram indexes for the search filter (title and
description, `icontains` compares UPPER(column) LIKE UPPER(term))."""

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

OPEN = (
    "'new', 'planned_external', 'planned_internal', 'response_received', "
    "'waiting_for_customer', 'waiting_for_supplier'"
)
# PostgreSQL only (SQLite cannot index NULLS LAST; pg_trgm is an extension).
POSTGRESQL_INDEXES = {
    # ?ordering=next_due_at and -next_due_at, NULLs last both ways, the id breaking ties
    "ticket_by_due": "(next_due_at ASC NULLS LAST, id ASC)",
    "ticket_by_due_desc": "(next_due_at DESC NULLS LAST, id DESC)",
    # the queue's soonest deadline first over open tickets
    "ticket_queue_due": "(next_due_at ASC NULLS LAST, reported_at DESC, id DESC) "
    f"WHERE status IN ({OPEN})",
    # the search filter: icontains is UPPER(column) LIKE UPPER('%term%')
    "ticket_title_trgm": "USING gin ((UPPER(title::text)) gin_trgm_ops)",
    "ticket_description_trgm": "USING gin ((UPPER(description::text)) gin_trgm_ops)",
}


def add_postgresql_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in POSTGRESQL_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON tickets_ticket {definition}")


def drop_postgresql_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in POSTGRESQL_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ('pim', '0004_idempotency_response_text'),
        ('tickets', '0005_watchers_ratings'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='ticket',
            name='tickets_tic_status_efcdbb_idx',
        ),
        migrations.RemoveIndex(
            model_name='ticket',
            name='tickets_tic_reporte_e1c0c0_idx',
        ),
        migrations.RemoveIndex(
            model_name='ticket',
            name='tickets_tic_assigne_294cb9_idx',
        ),
        migrations.AlterField(
            model_name='ticket',
            name='assignee',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='assigned_tickets', to=settings.AUTH_USER_MODEL, verbose_name='assignee'),
        ),
        migrations.AlterField(
            model_name='ticket',
            name='organization',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='tickets', to='pim.organization', verbose_name='organisation'),
        ),
        migrations.AlterField(
            model_name='ticket',
            name='reporter',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='reported_tickets', to=settings.AUTH_USER_MODEL, verbose_name='reporter'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['-reported_at', '-id'], name='ticket_reported'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['organization', '-reported_at', '-id'], name='ticket_org'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('status__in', ['new', 'planned_external', 'planned_internal', 'resolved', 'response_received', 'waiting_for_customer', 'waiting_for_supplier'])), fields=['organization', '-reported_at', '-id'], name='ticket_org_open'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['reporter', '-reported_at', '-id'], name='ticket_reporter'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['status', '-reported_at', '-id'], name='ticket_status'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['priority', '-reported_at', '-id'], name='ticket_priority'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['kind', '-reported_at', '-id'], name='ticket_kind'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['assignee', '-reported_at', '-id'], name='ticket_assignee'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['sla_state', '-reported_at', '-id'], name='ticket_sla_state'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('status__in', ['new', 'planned_external', 'planned_internal', 'response_received', 'waiting_for_customer', 'waiting_for_supplier'])), fields=['-reported_at', '-id'], name='ticket_queue'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['priority', 'id'], name='ticket_by_priority'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['status', 'id'], name='ticket_by_status'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['updated_at', 'id'], name='ticket_by_updated'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(django.db.models.functions.text.Upper('number'), name='ticket_number_upper'),
        ),
        migrations.RunPython(add_postgresql_indexes, drop_postgresql_indexes),
    ]
