"""The manager dashboard at a million tickets (issue 17), on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pim_bench_dashboard \\
        .venv/bin/python bench/dashboard.py --tickets 1000000 [--regenerate] [--repeat 20]

Builds the tickets once with bench/data.py (again with --regenerate or another --tickets),
then prints p50/p95 of the whole dashboard page through the Django stack in process (as the
director over all organisations, one organisation, and an authorised contact), of the
figures alone (`sla.dashboard.figures`) and of the month's availability alone, with
`EXPLAIN (ANALYZE, BUFFERS)` of every query the director's and the contact's figures run; one
line per target, `ok` or `MISSED` (goals: the dashboard < 1 s, the availability of one month
< 200 ms). One incident in `OUTAGE_EVERY` marks an outage of its service (until its restore),
so the availability has outages to merge.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pim_bench_dashboard")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ.setdefault("CACHE_URL", "locmemcache://bench-dashboard")

from bench import api_scale, data  # noqa: E402
from bench.api_scale import explain, percentiles, target  # noqa: E402

DASHBOARD_MS = 1000
OUTAGE_EVERY = 200
AVAILABILITY_MS = 200


def timed(name, fn, repeat, limit_ms):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    samples = []
    for i in range(repeat + 2):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            fn()
            if i >= 2:  # warm-up runs fill the caches (calendars, terms)
                samples.append((time.perf_counter() - t) * 1000)
    p50, p95 = percentiles(samples)
    print(f"{name:<52} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
          f"{len(ctx.captured_queries):2d} queries")  # fmt: skip
    target(f"{name} p95 < {limit_ms} ms", p95 < limit_ms, f"p95 {p95:.1f} ms")
    return list(ctx.captured_queries)


def page(client, url):
    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return get


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    data.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from pim.models import Organization
    from pim.scoping import user_scope
    from sla import availability_queries, dashboard
    from sla.models import Outage
    from tickets.models import Ticket

    call_command("collectstatic", "--noinput", verbosity=0)  # pages link the manifest's names
    with scopes_disabled():
        if args.regenerate or Ticket.objects.count() != args.tickets:
            data.build(args.tickets)
        if not Outage.objects.exists():
            with connection.cursor() as cur:
                cur.execute(
                    "INSERT INTO sla_outage (ticket_id, marked_at) SELECT id, reported_at "
                    "FROM tickets_ticket WHERE kind = 'incident' AND service_id IS NOT NULL "
                    "AND id %% %s = 0",
                    [OUTAGE_EVERY],
                )
                cur.execute("VACUUM ANALYZE sla_outage")
        open_ = Ticket.objects.open().count()
        print(f"tickets: {Ticket.objects.count():,} ({open_:,} open, "
              f"{Outage.objects.count():,} outages), "
              f"PostgreSQL {connection.pg_version}")  # fmt: skip
        acme = Organization.objects.get(slug="acme")
    month = timezone.localdate().replace(day=1)
    c = api_scale.clients()
    director_page, _api, director = c["director"]
    contact_page, _api, contact = c["acme.contact"]
    print(f"\n== the dashboard, {month:%Y-%m} ({args.repeat} runs each, in process) ==")
    timed("page: director, all organisations", page(director_page, "/dashboard/"),
          args.repeat, DASHBOARD_MS)  # fmt: skip
    timed("page: director, Acme", page(director_page, f"/dashboard/?organization={acme.pk}"),
          args.repeat, DASHBOARD_MS)  # fmt: skip
    timed("page: acme.contact", page(contact_page, "/dashboard/"), args.repeat, DASHBOARD_MS)
    for who in (director, contact):
        with user_scope(who):
            timed(
                f"figures alone: {who.username}",
                lambda who=who: dashboard.figures(who, month),
                args.repeat,
                DASHBOARD_MS,
            )
    with user_scope(director):
        timed(
            "availability of one month, all services",
            lambda: availability_queries.figures(
                availability_queries.visible_services(director), month
            ),
            args.repeat,
            AVAILABILITY_MS,
        )
    for who in (director, contact):
        with user_scope(who):
            plans_of = timed(
                f"figures alone: {who.username} (plans below)",
                lambda who=who: dashboard.figures(who, month),
                1,
                DASHBOARD_MS,
            )
        print(f"\n== EXPLAIN (ANALYZE, BUFFERS) of each query of {who.username}'s figures ==")
        for n, q in enumerate(plans_of, 1):
            sql = q["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            print(f"\n-- query {n} ({float(q['time']) * 1000:.1f} ms): {sql[:160]}\n{explain(sql)}")
    print("\n== targets ==")
    for name, ok, figure in api_scale.targets:
        print(f"{'ok    ' if ok else 'MISSED'} {name}: {figure}")


if __name__ == "__main__":
    main()
