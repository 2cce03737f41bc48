"""One data builder for the benches (PostgreSQL): N tickets over the demo organisations with
realistic clocks, SLA summary and history.

    from bench import data
    data.setup()                 # create + migrate the database, seed the demo data
    data.build(1_000_000)        # replace every ticket with N generated ones

Tickets are spread over the demo organisations (and their users, services and locations),
reported over the last three years; 95 % are closed, the rest open and recent. Their clocks
come from the real SLA engine (`sla.engine.compute` on the organisation's frozen terms and
calendars): closed tickets reuse a few thousand computed lifecycles shifted by whole weeks (so
office hours stay office hours), open ones are computed one by one as of now. Each ticket gets
its ledger (registered, responded, resolved, closed), audit entries, and open ones their SLA
terms. Rows go in with COPY, secondary indexes are dropped during the load and rebuilt after.
"""

import io
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pim_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

OPEN_SHARE = 0.05
YEARS = 3
TEMPLATES = 3000
# kind, share; priority weights per kind (changes are P5)
KINDS = [("incident", 0.80), ("change", 0.10), ("question", 0.08), ("problem", 0.02)]
PRIORITIES = {"incident": [(1, 2), (2, 8), (3, 45), (4, 45)], "change": [(5, 1)]}
OPEN_STATUSES = [
    "new", "planned_internal", "planned_external", "waiting_for_customer",
    "response_received", "waiting_for_supplier", "resolved",
]  # fmt: skip
TABLES = [
    "tickets_ticket", "sla_clock", "sla_clockevent", "sla_ticketsla", "tickets_auditentry",
]  # fmt: skip
KIND_PREFIX = {"incident": "INC", "change": "CHG", "problem": "PRB", "question": "QST"}
# Ticket texts for the search benchmark: a title and a description picked per ticket id, with
# host names and codes that make most descriptions unique (bench/api_scale.py searches them).
TITLES = [
    "Printer jam",
    "Headset crackles",
    "VPN drops every hour",
    "Outlook will not start",
    "Wifi slow in meeting room",
    "Laptop does not boot",
    "Telefonie storing",
    "Cannot log in to portal",
    "Mailbox full",
    "Screen flickers",
    "Network switch down",
    "Backup failed",
    "Certificate expired",
    "Password reset needed",
    "New employee account",
    "Firewall change request",
    "Scanner not found",
    "Teams audio echo",
    "Disk almost full",
    "Server unreachable",
    "Toegang tot gedeelde map",
    "Storing internetverbinding",
    "Nieuwe werkplek inrichten",
    "Licentie verlopen",
    "Printer offline op verdieping",
    "Router herstart steeds",
    "Datacenter koeling alarm",
    "Kassa systeem traag",
    "Badge reader defect",
    "Software update mislukt",
]
DESCRIPTIONS = [
    "Since this morning the device shows error",
    "After the update users report error",
    "Sinds vanochtend krijgt de gebruiker foutmelding",
    "Intermittently monitoring reports alert",
    "Na een herstart blijft de melding",
    "Since yesterday evening the log shows code",
]


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, label, total):
        self.label, self.total, self.start, self.shown = label, total, time.perf_counter(), -1

    def update(self, done):
        pct = int(100 * done / self.total) if self.total else 100
        if pct != self.shown:
            self.shown = pct
            bar = "#" * (pct // 4) + "." * (25 - pct // 4)
            rate = done / max(time.perf_counter() - self.start, 1e-9)
            sys.stderr.write(f"\r{self.label:<10} [{bar}] {pct:3d}% {done:,}/{self.total:,} "
                             f"({rate:,.0f}/s)")  # fmt: skip
            sys.stderr.flush()

    def close(self):
        self.update(self.total)
        sys.stderr.write(f"  {time.perf_counter() - self.start:.1f} s\n")


def ensure_database(url):
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def migrate_database():
    """Create and migrate the database named by DATABASE_URL (PostgreSQL only)."""
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        sys.exit("the benches need PostgreSQL (DATABASE_URL=postgres://…)")
    ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def setup():
    """Create and migrate the database named by DATABASE_URL and seed the demo data."""
    migrate_database()
    from django.core.management import call_command

    from pim.models import Organization

    if not Organization.objects.filter(slug__in=["acme", "globex"]).exists():
        call_command("seed_demo", verbosity=0)


def _weighted(rng, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def _world():
    """The demo organisations with their people, services, locations and terms per kind."""
    from django_scopes import scopes_disabled

    from pim.models import Location, Membership, Organization, Role, Service
    from sla.services import build_terms
    from tickets.models import Ticket

    with scopes_disabled():
        agents = list(
            Membership.objects.filter(role__in=[Role.AGENT, Role.ONCALL]).values_list(
                "user_id", flat=True
            )
        )
        orgs = []
        for org in Organization.objects.filter(
            pk__in=Membership.objects.filter(role=Role.CUSTOMER_USER).values("organization")
        ).order_by("pk"):
            people = list(
                Membership.objects.filter(
                    organization=org, role__in=[Role.CUSTOMER_USER, Role.AUTHORISED_CONTACT]
                ).values_list("user_id", flat=True)
            )
            terms = {}
            for kind, _share in KINDS:
                probe = Ticket(organization=org, kind=kind, reported_at=_now())
                contract, frozen = build_terms(probe)
                terms[kind] = (contract.pk if contract else None, frozen)
            orgs.append(
                {
                    "id": org.pk,
                    "people": people,
                    "services": list(Service.objects.filter(organization=org).values_list(
                        "pk", flat=True)) or [None],
                    "locations": list(Location.objects.filter(organization=org).values_list(
                        "pk", flat=True)) or [None],
                    "terms": terms,
                }
            )  # fmt: skip
    if not orgs or not agents:
        sys.exit("no demo organisations or agents: run seed_demo first")
    return orgs, agents


def _now():
    from django.utils import timezone

    return timezone.now().replace(microsecond=0)


def _lifecycle(rng, kind, priority, reported, open_=False):
    """A ticket's ledger as (kind, at, data): responded minutes to hours later, resolved hours
    to days later (on time mostly, late sometimes), closed five working days after that."""
    from sla.engine import Event

    urgency = {1: 0.2, 2: 0.5, 3: 1.0, 4: 2.0, 5: 3.0}[priority]
    respond = reported + timedelta(minutes=rng.expovariate(1 / (30 * urgency)))
    resolve = respond + timedelta(hours=rng.expovariate(1 / (10 * urgency)))
    close = resolve + timedelta(days=7)
    events = [Event("registered", reported, data={"priority": priority})]
    stage = 3 if not open_ else rng.choice([0, 1, 1, 1, 2])
    if stage >= 1:
        events.append(Event("responded", respond))
    if stage >= 2:
        events.append(Event("resolved", resolve, data={"resolution_type": "definitive"}))
    if stage >= 3:
        events.append(Event("closed", close))
    return events


def _clocks(kind, priority, events, terms, now):
    from sla import engine
    from sla.calendars import business_calendar

    if not terms:
        return []
    return engine.compute(kind, events, {**terms, "priority": priority}, business_calendar, now)


STATE_RANK = {"met": 0, "pending": 1, "at_risk": 2, "breached": 3}


def _summary(results):
    live = [c.due_at for c in results if c.stopped_at is None and not c.paused and c.due_at]
    state = max((c.state for c in results), key=STATE_RANK.__getitem__, default="")
    return (min(live) if live else None), state


def _ts(value):
    return "\\N" if value is None else value.isoformat()


def _text(value):
    return (
        "\\N"
        if value is None
        else str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")
    )


class Copier:
    """Rows of one model's table into a buffer, COPYed in chunks. NOT NULL columns the bench
    does not name (fields other work added) get their field default."""

    def __init__(self, cursor, model, columns, now, chunk=20000, table=None):
        self.cursor, self.table = cursor, table or model._meta.db_table
        extra = _extra_columns(model, columns, now) if model else {}
        self.columns = [*columns, *extra]
        self.tail = "".join(f"\t{_text(v)}" for v in extra.values())
        self.chunk = chunk
        self.buffer, self.rows, self.total = io.StringIO(), 0, 0

    def add(self, *values):
        self.buffer.write("\t".join(values))
        self.buffer.write(self.tail)
        self.buffer.write("\n")
        self.rows += 1
        if self.rows >= self.chunk:
            self.flush()

    def flush(self):
        if not self.rows:
            return
        names = f" ({', '.join(self.columns)})" if self.columns else ""
        sql = f"COPY {self.table}{names} FROM STDIN"
        with self.cursor.copy(sql) as copy:
            copy.write(self.buffer.getvalue())
        self.total += self.rows
        self.buffer, self.rows = io.StringIO(), 0


def _secondary_indexes(cursor):
    """Index definitions of the bench tables that no constraint owns (dropped for the load)."""
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
        """,
        [TABLES],
    )
    return cursor.fetchall()


def _template(rng, org, now, open_):
    kind = _weighted(rng, KINDS)
    priority = _weighted(rng, PRIORITIES.get(kind, [(3, 1)]))
    if open_:
        reported = now - timedelta(minutes=rng.randrange(14 * 24 * 60))
    else:
        reported = now - timedelta(days=30, minutes=rng.randrange(7 * 24 * 60))
    events = _lifecycle(rng, kind, priority, reported, open_=open_)
    results = _clocks(kind, priority, events, org["terms"][kind][1], now)
    at = {e.kind: e.at for e in events}
    status = (
        "closed" if "closed" in at
        else "resolved" if "resolved" in at
        else rng.choice(OPEN_STATUSES[1:6]) if "responded" in at
        else "new"
    )  # fmt: skip
    live = [c.due_at for c in results if c.stopped_at is None and not c.paused and c.due_at]
    state = max((c.state for c in results), key=STATE_RANK.__getitem__, default="")
    moments = [c.at_risk_at for c in results if c.at_risk_at and c.at_risk_at > now]
    moments += [d for d in live if d > now]
    return {
        "org": org, "kind": kind, "priority": priority, "reported": reported, "at": at,
        "status": status, "events": events, "results": results, "open": open_,
        "next_due": min(live) if live else None, "state": state,
        "next_check": min(moments, default=None) if open_ else None,
    }  # fmt: skip


def build(total, *, seed=14, open_share=OPEN_SHARE):
    """Replace every ticket with `total` generated ones (and their clocks and history):
    lifecycles computed by the SLA engine for a few thousand templates, copied to a staging
    table, expanded to `total` tickets in SQL (closed ones shifted by whole weeks)."""
    import json

    from django.db import connection

    from sla.models import Clock, ClockEvent, TicketSla
    from tickets.models import AuditEntry, Ticket

    rng = random.Random(seed)
    now = _now()
    orgs, agents = _world()
    t0 = time.perf_counter()
    n_open = int(total * open_share)
    n_templates = min(TEMPLATES, max(total // 20, 50))
    open_templates = max(1, min(n_templates // 3, n_open))
    templates = []
    bar = Progress("templates", n_templates)
    for i in range(n_templates):
        templates.append(_template(rng, orgs[i % len(orgs)], now, i < open_templates))
        bar.update(i + 1)
    bar.close()

    # every ticket: a template and a shift in whole weeks; ids grow with the reported time
    span_weeks = YEARS * 52
    closed_ids = range(open_templates, n_templates)
    rows = []
    for i in range(total):
        if i < n_open:
            tpl, weeks = rng.randrange(open_templates), 0
        else:
            tpl, weeks = rng.choice(closed_ids), rng.randrange(span_weeks)
        rows.append((templates[tpl]["reported"] - timedelta(weeks=weeks), tpl, weeks))
    rows.sort()

    with connection.cursor() as cur:
        raw = cur.cursor
        indexes = _secondary_indexes(raw)
        cur.execute("TRUNCATE tickets_ticket, tickets_ticketsequence RESTART IDENTITY CASCADE")
        for name, _definition in indexes:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
        cur.execute(
            """
            DROP TABLE IF EXISTS bench_tpl, bench_tpl_clock, bench_tpl_event, bench_map;
            CREATE UNLOGGED TABLE bench_tpl (
                tpl int PRIMARY KEY, org int, kind text, priority int, status text,
                reported_at timestamptz, responded_at timestamptz, resolved_at timestamptz,
                closed_at timestamptz, next_due_at timestamptz, sla_state text,
                next_check timestamptz, is_open bool, contract_id int, terms jsonb);
            CREATE UNLOGGED TABLE bench_tpl_clock (
                tpl int, target text, calendar_id int, target_seconds int,
                started_at timestamptz, due_at timestamptz, at_risk_at timestamptz, paused bool,
                stopped_at timestamptz, used_seconds int, state text);
            CREATE UNLOGGED TABLE bench_tpl_event (tpl int, kind text, at timestamptz, data jsonb);
            CREATE UNLOGGED TABLE bench_map (
                id bigint, tpl int, weeks int, reporter int, assignee int, service int,
                location int, channel text);
            """
        )
        tpl_rows = Copier(raw, None, [], now, table="bench_tpl")
        clock_rows = Copier(raw, None, [], now, table="bench_tpl_clock")
        event_rows = Copier(raw, None, [], now, table="bench_tpl_event")
        for i, t in enumerate(templates):
            contract_id, terms = t["org"]["terms"][t["kind"]]
            tpl_rows.add(
                str(i), str(t["org"]["id"]), t["kind"], str(t["priority"]), t["status"],
                _ts(t["reported"]), _ts(t["at"].get("responded")), _ts(t["at"].get("resolved")),
                _ts(t["at"].get("closed")), _ts(t["next_due"]), t["state"],
                _ts(t["next_check"]), "t" if t["open"] else "f", _text(contract_id),
                _text(json.dumps(terms)),
            )  # fmt: skip
            for c in t["results"]:
                clock_rows.add(
                    str(i), c.target, str(c.calendar_id), str(c.target_seconds),
                    _ts(c.started_at), _ts(c.due_at), _ts(c.at_risk_at),
                    "t" if c.paused else "f", _ts(c.stopped_at), str(c.used_seconds), c.state,
                )  # fmt: skip
            for e in t["events"]:
                event_rows.add(str(i), e.kind, _ts(e.at), _text(json.dumps(e.data)))
        map_rows = Copier(raw, None, [], now, table="bench_map", chunk=100_000)
        bar = Progress("tickets", total)
        for pk, (_reported, tpl, weeks) in enumerate(rows, 1):
            t = templates[tpl]
            org = t["org"]
            map_rows.add(
                str(pk), str(tpl), str(weeks), str(org["people"][pk % len(org["people"])]),
                str(agents[pk % len(agents)]) if "responded" in t["at"] else "\\N",
                _text(org["services"][pk % len(org["services"])]),
                _text(org["locations"][pk % len(org["locations"])]),
                ("portal", "email", "phone", "api")[pk % 4],
            )  # fmt: skip
            if pk % 10000 == 0:
                bar.update(pk)
        for copier in (tpl_rows, clock_rows, event_rows, map_rows):
            copier.flush()
        bar.close()

        shift = "make_interval(weeks => m.weeks)"
        # the compliance report's columns on Clock (sla.services.report_columns), where present
        fields = {f.column for f in Clock._meta.concrete_fields}
        report = {
            "organization_id": "t.org",
            "priority": "t.priority",
            "month": f"date_trunc('month', (t.reported_at - {shift}) "
            "AT TIME ZONE 'Europe/Amsterdam')::date",
            "counted": "true",
        }
        report = {k: v for k, v in report.items() if k in fields}
        report_columns = list(report)
        report_select = "".join(f", {v}" for v in report.values())
        steps = [
            ("tickets", Ticket, f"""
                SELECT m.id, p.prefix || '-' || y.year || '-' || to_char(row_number() OVER (
                    PARTITION BY t.kind, y.year ORDER BY m.id), 'FM99900000'),
                t.kind, (%(titles)s::text[])[1 + (m.id * 7) %% {len(TITLES)}] || ' ' || m.id,
                (%(descriptions)s::text[])[1 + (m.id * 11) %% {len(DESCRIPTIONS)}] || ' E'
                    || (m.id %% 997) || ' on host srv-' || (m.id %% 4999) || '.',
                t.priority, t.status, m.channel, t.org, m.service, m.location, m.reporter,
                m.assignee, t.reported_at - {shift}, t.responded_at - {shift},
                t.resolved_at - {shift}, t.closed_at - {shift},
                CASE WHEN t.resolved_at IS NULL THEN '' ELSE 'definitive' END, '', '', '',
                false, '', t.next_check, t.next_due_at - {shift}, t.sla_state,
                t.reported_at - {shift},
                COALESCE(t.closed_at, t.resolved_at, t.reported_at) - {shift}
                FROM bench_map m JOIN bench_tpl t USING (tpl)
                CROSS JOIN LATERAL (SELECT extract(year FROM (t.reported_at - {shift})
                    AT TIME ZONE 'Europe/Amsterdam')::int AS year) y
                JOIN (VALUES {", ".join(f"('{k}', '{v}')" for k, v in KIND_PREFIX.items())})
                    AS p(kind, prefix) ON p.kind = t.kind
                """, [
                "id", "number", "kind", "title", "description", "priority", "status",
                "channel", "organization_id", "service_id", "location_id", "reporter_id",
                "assignee_id", "reported_at", "responded_at", "resolved_at", "closed_at",
                "resolution_type", "resolution_cause", "resolution_how",
                "resolution_follow_up", "sla_not_applicable", "sla_not_applicable_reason",
                "next_sla_check_at", "next_due_at", "sla_state", "created_at", "updated_at",
            ]),
            ("clocks", Clock, f"""
                SELECT m.id, c.target, c.calendar_id, c.target_seconds,
                c.started_at - {shift}, c.due_at - {shift}, c.at_risk_at - {shift}, c.paused,
                c.stopped_at - {shift}, c.used_seconds, %(now)s - {shift}, c.state
                {report_select}
                FROM bench_map m JOIN bench_tpl_clock c USING (tpl) JOIN bench_tpl t USING (tpl)
                """, [
                "ticket_id", "target", "calendar_id", "target_seconds", "started_at",
                "due_at", "at_risk_at", "paused", "stopped_at", "used_seconds", "computed_at",
                "state", *report_columns,
            ]),
            ("ledger", ClockEvent, f"""
                SELECT m.id, e.kind, e.at - {shift}, NULL::timestamptz, e.data,
                CASE WHEN e.kind = 'registered' THEN m.reporter ELSE m.assignee END,
                e.at - {shift}
                FROM bench_map m JOIN bench_tpl_event e USING (tpl)
                """, ["ticket_id", "kind", "at", "until", "data", "actor_id", "recorded_at"]),
            ("audit", AuditEntry, f"""
                SELECT m.id, m.reporter, t.reported_at - {shift}, 'created', 'ticket', NULL::bigint,
                '{{}}'::jsonb
                FROM bench_map m JOIN bench_tpl t USING (tpl)
                UNION ALL
                SELECT m.id, m.assignee,
                COALESCE(t.closed_at, t.resolved_at, t.responded_at) - {shift}, 'status',
                'ticket', NULL::bigint,
                jsonb_build_object('status', jsonb_build_array('new', t.status))
                FROM bench_map m JOIN bench_tpl t USING (tpl) WHERE t.status <> 'new'
                """, [
                "ticket_id", "actor_id", "at", "action", "object_type", "object_id", "changes",
            ]),
            ("terms", TicketSla, """
                SELECT m.id, t.contract_id, t.terms, ''
                FROM bench_map m JOIN bench_tpl t USING (tpl) WHERE t.is_open
                """, ["ticket_id", "contract_id", "terms", "follow_up_kind"]),
        ]  # fmt: skip
        try:
            cur.execute("SET session_replication_role = replica")  # no FK triggers while loading
            counts = {}
            bar = Progress("expand", len(steps))
            for n, (label, model, select, columns) in enumerate(steps, 1):
                extra = _extra_columns(model, columns, now)
                names = ", ".join([*columns, *extra])
                constants = "".join(f", %(x{j})s" for j in range(len(extra)))
                params = {"now": now, "titles": TITLES, "descriptions": DESCRIPTIONS}
                params |= {f"x{j}": v for j, v in enumerate(extra.values())}
                table = model._meta.db_table
                sql = f"INSERT INTO {table} ({names}) SELECT *{constants} FROM ({select}) s"
                cur.execute(sql, params)
                counts[label] = cur.rowcount
                bar.update(n)
            bar.close()
            cur.execute("SET session_replication_role = DEFAULT")
            if "search_document" in {f.column for f in Ticket._meta.concrete_fields}:
                # the search documents: the load ran without triggers; NULL asks the ticket's
                # trigger to compute them (tickets migration 0009), before the indexes return
                bar = Progress("search", 1)
                cur.execute("UPDATE tickets_ticket SET search_document = NULL")
                bar.close()
            cur.execute(
                "INSERT INTO tickets_ticketsequence (kind, year, last) "
                "SELECT kind, extract(year FROM reported_at AT TIME ZONE 'Europe/Amsterdam'), "
                "count(*) FROM tickets_ticket GROUP BY 1, 2"
            )
            cur.execute("DROP TABLE bench_tpl, bench_tpl_clock, bench_tpl_event, bench_map")
            for table in TABLES:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
        finally:  # the indexes come back even if the load failed
            cur.execute("SET session_replication_role = DEFAULT")
            _restore_indexes(cur, indexes)
        for table in TABLES:
            cur.execute(f"VACUUM ANALYZE {table}")
    elapsed = time.perf_counter() - t0
    print(f"built {total:,} tickets ({n_open:,} open) in {elapsed:.1f} s: {counts}")
    return counts


def _restore_indexes(cursor, indexes):
    bar = Progress("indexes", len(indexes))
    cursor.execute("SET maintenance_work_mem = '256MB'")
    for n, (_name, definition) in enumerate(indexes, 1):
        cursor.execute(definition.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
        bar.update(n)
    bar.close()


def _extra_columns(model, known, now):
    """{column: value} for the concrete NOT NULL columns `known` leaves out: their field
    default (a column without one stops the build with its name)."""
    from psycopg.types.json import Jsonb

    out = {}
    for f in model._meta.concrete_fields:
        if f.column in known or f.primary_key or f.null:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        else:
            value = f.get_default()  # "" for text fields without one
        if value is None:
            sys.exit(f"bench/data.py: fill {model._meta.db_table}.{f.column} (no default)")
        out[f.column] = Jsonb(value) if isinstance(value, (dict, list)) else value
    return out


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    args = parser.parse_args()
    setup()
    build(args.tickets)
