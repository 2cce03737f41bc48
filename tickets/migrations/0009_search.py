"""Search everywhere (issue 15): on PostgreSQL each ticket carries two tsvectors, kept by
triggers so that no write path (services, admin, privacy's anonymisation, QuerySet.update, the
bench's COPY followed by `refresh_all`) can leave them stale:

- `search_document`, what a customer may find: title (weight A), description (B), the public
  updates (C, newest first, at most 200,000 characters) and the reporter's name, username and
  e-mail address (D, also split at '@', '.', '_' and '-');
- `search_internal`, what only provider staff may find: the internal notes (NULL without any).

Both use the 'simple' configuration (no stemming, no stop words: tickets mix Dutch, English,
host names and error codes; queries match word prefixes). The ticket's trigger recomputes them
when a column they read changes, and when a writer sets them to anything else than the stored
value (Django's full save() writes back what it loaded; an update's trigger sets NULL to ask
for a refresh). Organisation and location names are matched through their own small tables
(tickets.queries), so renaming one rewrites no tickets. GIN indexes serve `@@`; a trigram index
on the number serves "the number ends with -00041".
"""

import django.contrib.postgres.search
from django.db import migrations

REFRESH_ALL = "UPDATE tickets_ticket SET search_document = NULL"

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION tickets_search_words(value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT concat_ws(' ', value, translate(value, '@._-', '    '))
$$;

CREATE OR REPLACE FUNCTION tickets_search_document(t tickets_ticket) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('simple', coalesce(t.title, '')), 'A')
        || setweight(to_tsvector('simple', left(coalesce(t.description, ''), 100000)), 'B')
        || setweight(to_tsvector('simple', coalesce((
               SELECT left(string_agg(concat_ws(' ', u.body, u.next_actions), ' '
                                      ORDER BY u.created_at DESC, u.id DESC), 200000)
               FROM tickets_ticketupdate u
               WHERE u.ticket_id = t.id AND u.visibility = 'public'), '')), 'C')
        || setweight(to_tsvector('simple', coalesce((
               SELECT concat_ws(' ', p.first_name, p.last_name,
                                tickets_search_words(p.username), tickets_search_words(p.email))
               FROM pim_user p WHERE p.id = t.reporter_id), '')), 'D')
$$;

CREATE OR REPLACE FUNCTION tickets_search_internal(ticket bigint) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT to_tsvector('simple', left(string_agg(concat_ws(' ', u.body, u.next_actions), ' '
                                                 ORDER BY u.created_at DESC, u.id DESC), 200000))
    FROM tickets_ticketupdate u
    WHERE u.ticket_id = ticket AND u.visibility = 'internal'
$$;

CREATE OR REPLACE FUNCTION tickets_ticket_search() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT'
       OR NEW.title IS DISTINCT FROM OLD.title
       OR NEW.description IS DISTINCT FROM OLD.description
       OR NEW.reporter_id IS DISTINCT FROM OLD.reporter_id
       OR NEW.search_document IS DISTINCT FROM OLD.search_document
       OR NEW.search_internal IS DISTINCT FROM OLD.search_internal
       OR NEW.search_document IS NULL THEN
        NEW.search_document := tickets_search_document(NEW);
        NEW.search_internal := tickets_search_internal(NEW.id);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION tickets_update_search() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE tickets_ticket SET search_document = NULL WHERE id = OLD.ticket_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR NEW.ticket_id <> OLD.ticket_id) THEN
        UPDATE tickets_ticket SET search_document = NULL WHERE id = NEW.ticket_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION tickets_reporter_search() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets_ticket SET search_document = NULL WHERE reporter_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER tickets_ticket_search BEFORE INSERT OR UPDATE ON tickets_ticket
    FOR EACH ROW EXECUTE FUNCTION tickets_ticket_search();
CREATE TRIGGER tickets_update_search AFTER INSERT OR UPDATE OR DELETE ON tickets_ticketupdate
    FOR EACH ROW EXECUTE FUNCTION tickets_update_search();
CREATE TRIGGER tickets_reporter_search AFTER UPDATE OF first_name, last_name, username, email
    ON pim_user FOR EACH ROW
    WHEN (OLD.first_name IS DISTINCT FROM NEW.first_name
          OR OLD.last_name IS DISTINCT FROM NEW.last_name
          OR OLD.username IS DISTINCT FROM NEW.username
          OR OLD.email IS DISTINCT FROM NEW.email)
    EXECUTE FUNCTION tickets_reporter_search();
"""

INDEXES = {
    "ticket_search": "USING gin (search_document)",
    "ticket_search_internal": "USING gin (search_internal) WHERE search_internal IS NOT NULL",
    # "41" and "00041" find …-00041: number LIKE '%-00041'
    "ticket_number_trgm": "USING gin ((number::text) gin_trgm_ops)",
}

DROP = """
DROP TRIGGER IF EXISTS tickets_reporter_search ON pim_user;
DROP TRIGGER IF EXISTS tickets_update_search ON tickets_ticketupdate;
DROP TRIGGER IF EXISTS tickets_ticket_search ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_reporter_search();
DROP FUNCTION IF EXISTS tickets_update_search();
DROP FUNCTION IF EXISTS tickets_ticket_search();
DROP FUNCTION IF EXISTS tickets_search_internal(bigint);
DROP FUNCTION IF EXISTS tickets_search_document(tickets_ticket);
DROP FUNCTION IF EXISTS tickets_search_words(text);
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(FUNCTIONS)
    schema_editor.execute(REFRESH_ALL)
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON tickets_ticket {definition}")


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("pim", "0004_idempotency_response_text"),
        ("tickets", "0008_admin_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="search_document",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="ticket",
            name="search_internal",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(install, uninstall),
    ]
