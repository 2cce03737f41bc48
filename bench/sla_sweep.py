"""SLA sweep benchmark (DESIGN §7) on PostgreSQL.

1,000,000 tickets of which 100,000 open, bulk-inserted with generate_series. Measures a sweep
with nothing due (target < 20 ms) and a sweep with 10,000 due tickets (target < 10 s, each
evaluated once), and prints the query plan of the due-ticket query (the partial index
`ticket_next_sla_check`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pim_bench .venv/bin/python bench/sla_sweep.py

The database is created and migrated when missing; the data is generated once and reused
(`--regenerate` builds it again). Only the 10,000 due tickets get a ledger and SLA terms.
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pim_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench.data import migrate_database  # noqa: E402 (one way to make the bench database)

TOTAL = 1_000_000
OPEN = 100_000
DUE = 10_000
# Open tickets look ahead: their next check 1 minute to ~7 days from now (nothing due).
SPREAD_OPEN = (
    "UPDATE tickets_ticket SET next_sla_check_at = "
    "%s + make_interval(mins => (1 + id %% 10000)::int) WHERE status <> 'closed'"
)


def generate():
    from django.db import connection, transaction
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from pim.models import Membership, Organization, Role, User
    from sla.models import Contract, ServiceWindow, SlaPolicy

    with scopes_disabled(), transaction.atomic():
        org, _ = Organization.objects.get_or_create(name="Bench BV", slug="bench")
        reporter, created = User.objects.get_or_create(username="bench.user")
        if created:
            Membership.objects.create(user=reporter, role=Role.CUSTOMER_USER, organization=org)
        agent, created = User.objects.get_or_create(username="bench.agent")
        if created:
            Membership.objects.create(user=agent, role=Role.AGENT)
        if not Contract.objects.filter(organization=org).exists():
            Contract.objects.create(
                organization=org,
                policy=SlaPolicy.objects.get(name="Standaard SLA"),
                service_window=ServiceWindow.ALWAYS,
                valid_from=date(2020, 1, 1),
            )
        now = timezone.now()
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("TRUNCATE tickets_ticket, tickets_ticketsequence RESTART IDENTITY CASCADE")
            # Open tickets (g <= OPEN) look ahead: next check 1 minute to ~7 days from now.
            cur.execute(
                """
                INSERT INTO tickets_ticket (
                    number, kind, title, description, priority, status, channel, reported_at,
                    responded_at, resolved_at, closed_at, resolution_type, resolution_cause,
                    resolution_how, resolution_follow_up, sla_not_applicable,
                    sla_not_applicable_reason, next_sla_check_at, created_at, updated_at,
                    organization_id, reporter_id, assignee_id, workaround_text, sla_state
                )
                SELECT
                    'INC-B-' || lpad(g::text, 7, '0'), 'incident', 'Bench ticket ' || g,
                    'generated', 1 + g %% 4,
                    CASE WHEN g <= %(open)s THEN 'planned_internal' ELSE 'closed' END,
                    'portal', %(now)s - make_interval(mins => g %% 100000),
                    %(now)s - make_interval(mins => g %% 100000 - 5),
                    CASE WHEN g <= %(open)s THEN NULL ELSE %(now)s - interval '1 hour' END,
                    CASE WHEN g <= %(open)s THEN NULL ELSE %(now)s - interval '1 hour' END,
                    '', '', '', '', false, '',
                    CASE WHEN g <= %(open)s
                         THEN %(now)s + make_interval(mins => 1 + g %% 10000) END,
                    %(now)s, %(now)s, %(org)s, %(reporter)s, %(agent)s, '', ''
                FROM generate_series(1, %(total)s) AS g
                """,
                {
                    "open": OPEN,
                    "total": TOTAL,
                    "now": now,
                    "org": org.pk,
                    "reporter": reporter.pk,
                    "agent": agent.pk,
                },
            )
            cur.execute("ANALYZE tickets_ticket")
        print(f"generated {TOTAL:,} tickets ({OPEN:,} open) in {time.perf_counter() - t0:.1f} s")


def make_due(now):
    """DUE open tickets become P2 incidents registered 50 minutes ago on the 24/7 calendar,
    with terms and a ledger: the response clock is at risk (45 minutes of 60) — due now."""
    from django.db import connection

    from sla.services import build_terms
    from tickets.models import Ticket

    with connection.cursor() as cur:
        cur.execute(SPREAD_OPEN, [now])
        cur.execute(
            "SELECT id FROM tickets_ticket WHERE status <> 'closed' ORDER BY id LIMIT %s", [DUE]
        )
        ids = [r[0] for r in cur.fetchall()]
        reported = now - timedelta(minutes=50)
        cur.execute(
            "UPDATE tickets_ticket SET priority = 2, status = 'new', responded_at = NULL, "
            "reported_at = %s, next_sla_check_at = %s WHERE id = ANY(%s)",
            [reported, now - timedelta(seconds=1), ids],
        )
        sample = Ticket.objects.get(pk=ids[0])
        _contract, terms = build_terms(sample)
        for table in ("sla_slaevent", "sla_clock", "sla_clockevent", "sla_ticketsla"):
            cur.execute(f"DELETE FROM {table} WHERE ticket_id = ANY(%s)", [ids])  # noqa: S608
        cur.execute(
            "INSERT INTO sla_ticketsla (ticket_id, contract_id, terms, follow_up_kind) "
            "SELECT id, %s, %s::jsonb, '' FROM unnest(%s::bigint[]) AS id",
            [_contract.pk if _contract else None, json.dumps(terms), ids],
        )
        cur.execute(
            "INSERT INTO sla_clockevent (ticket_id, kind, at, data, recorded_at) "
            "SELECT id, 'registered', %s, '{\"priority\": 2}'::jsonb, %s "
            "FROM unnest(%s::bigint[]) AS id",
            [reported, now, ids],
        )
        # Earlier runs deleted these rows: vacuum, as autovacuum would, so dead index entries
        # of the last run do not count against this one.
        for table in ("tickets_ticket", "sla_ticketsla", "sla_clockevent", "sla_clock",
                      "sla_slaevent"):  # fmt: skip
            cur.execute(f"VACUUM ANALYZE {table}")
    return ids


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    migrate_database()
    from django.db import connection
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from sla.sweep import sweep
    from tickets.models import Ticket

    with scopes_disabled():
        if args.regenerate or Ticket.objects.count() != TOTAL:
            generate()
        now = timezone.now()
        with connection.cursor() as cur:
            cur.execute(SPREAD_OPEN, [now])
            cur.execute("ANALYZE tickets_ticket")
        total = Ticket.objects.count()
        open_ = Ticket.objects.exclude(status="closed").count()
        print(f"tickets: {total:,}, open: {open_:,}, PostgreSQL {connection.pg_version}")

        qs = Ticket.objects.filter(next_sla_check_at__lte=now).order_by("next_sla_check_at")[:500]
        print("\nplan of the due-ticket query:")
        print(qs.explain(analyze=True, buffers=True))

        sweep(now=now)  # warm up (connections, calendars)
        runs = []
        for _ in range(20):
            t0 = time.perf_counter()
            result = sweep(now=now)
            runs.append((time.perf_counter() - t0) * 1000)
            assert result.evaluated == 0
        print(
            f"\nsweep, nothing due: median {statistics.median(runs):.2f} ms, "
            f"max {max(runs):.2f} ms over {len(runs)} sweeps (target < 20 ms)"
        )

        due_now = timezone.now()
        ids = make_due(due_now)
        t0 = time.perf_counter()
        result = sweep(now=due_now)
        elapsed = time.perf_counter() - t0
        left = Ticket.objects.filter(next_sla_check_at__lte=due_now).count()
        print(
            f"sweep, {len(ids):,} due: {elapsed:.2f} s, evaluated {result.evaluated:,} in "
            f"{result.batches} batches, {len(result.events):,} SLA events, still due: {left} "
            f"(target < 10 s, each evaluated once)"
        )
        again = sweep(now=due_now)
        print(f"the same sweep again: evaluated {again.evaluated} (nothing twice)")


if __name__ == "__main__":
    main()
