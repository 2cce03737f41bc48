"""Drop the description's trigram index (PostgreSQL): nothing reads it. The search filter looks
for words in the tsvector documents (0009_search) on PostgreSQL and uses `icontains` only on
SQLite, and the admin searches number and title. At 1,000,000 tickets it was the ticket
table's largest index (99 MB) with 0 scans in bench/api_scale.py, and every write of a
description updated it."""

from django.db import migrations

NAME = "ticket_description_trgm"
DEFINITION = "USING gin ((UPPER(description::text)) gin_trgm_ops)"


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


def recreate(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {NAME} ON tickets_ticket {DEFINITION}")


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0016_rating_rated_at_index"),
    ]

    operations = [migrations.RunPython(drop, recreate)]
