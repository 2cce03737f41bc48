"""The agent queue at a million tickets (issue 15), on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pim_bench_queue \\
        .venv/bin/python bench/agent_queue.py --tickets 1000000 [--regenerate] [--repeat 30]

Builds the tickets once with bench/data.py (again with --regenerate or another --tickets),
then prints p50/p95 of the whole queue page through the Django stack in process (middleware,
session, template; every page also counts all the agent's views): the default queue's first
page, each shared view, two of the agent's own views (a narrow one and one over every status),
the htmx refresh of the rows; the views' counts on their own; `EXPLAIN (ANALYZE, BUFFERS)` of
each page's main query (the rows) and of the counts; one line per target, `ok` or `MISSED`
(goal: p95 < 100 ms).
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pim_bench_queue")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/12")
os.environ.setdefault("CACHE_URL", "rediscache://127.0.0.1:6379/15")

from bench import api_scale, data  # noqa: E402
from bench.api_scale import LIST_TARGET_MS, explain, percentiles, target, time_list  # noqa: E402


class Htmx:
    """A client whose requests are htmx's (the 30 s refresh: the rows and the counts)."""

    def __init__(self, client):
        self.client = client

    def get(self, url):
        return self.client.get(url, headers={"HX-Request": "true"})


def counts_alone(request, repeat):
    """The views' counts without the page: one statement, timed and explained."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets import queue_views

    views = queue_views.views_for(request.user)
    samples = []
    for i in range(repeat + 2):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            queue_views.count_views(request, views)
            if i >= 2:
                samples.append((time.perf_counter() - t) * 1000)
    p50, p95 = percentiles(samples)
    print(f"{f'counts of {len(views)} views (one query)':<46} p50 {p50:7.1f} ms  "
          f"p95 {p95:7.1f} ms  {len(ctx.captured_queries):2d} queries")  # fmt: skip
    print("   " + ", ".join(f"{v.name}: {v.count}{'' if v.exact else '+'}" for v in views))
    target(f"views' counts p95 < {LIST_TARGET_MS} ms", p95 < LIST_TARGET_MS, f"p95 {p95:.1f} ms")
    sql = next(q["sql"] for q in ctx.captured_queries if "AS view_" in q["sql"])
    return explain(sql)


def queue(repeat):
    from django.test import RequestFactory

    from pim.models import Organization
    from pim.scoping import user_scope
    from tickets import queue_views
    from tickets.models import QueueView

    c = api_scale.clients()
    page, _api, agent = c["agent"]
    QueueView.objects.filter(owner=agent).delete()
    acme = Organization.objects.get(slug="acme")
    own = {
        "own view: Acme P1/P2": f"organization={acme.pk}&priority=1&priority=2",
        "own view: every status, P1": "status=all&priority=1",
    }
    for name, query in own.items():
        queue_views.save_view(agent, name.removeprefix("own view: "), query)
    plans = []
    print(f"\n== the queue ({repeat} requests each, in process; every page counts all views) ==")
    time_list("default queue, first page", page, "/queue/", repeat, plans=plans)
    time_list("default queue, htmx refresh", Htmx(page), "/queue/", repeat)
    for _key, name, query in queue_views.PRESETS[1:]:
        time_list(f"shared view: {name}", page, f"/queue/?{query}", repeat, plans=plans)
    for name, query in own.items():
        time_list(name, page, f"/queue/?{query}", repeat, plans=plans)
    time_list("default queue, page 40", page, "/queue/?page=40", repeat, plans=plans)

    request = RequestFactory().get("/queue/")
    request.user = agent
    with user_scope(agent):
        counts_plan = counts_alone(request, repeat)
    print("\n== EXPLAIN (ANALYZE, BUFFERS) ==")
    for name, url, plan in plans:
        print(f"\n-- {name}: GET {url[:120]}\n{plan}")
    print(f"\n-- the views' counts (one statement)\n{counts_plan}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    data.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scopes_disabled

    from tickets.models import Ticket

    call_command("collectstatic", "--noinput", verbosity=0)  # pages link the manifest's names
    with scopes_disabled():
        if args.regenerate or Ticket.objects.count() != args.tickets:
            data.build(args.tickets)
        open_ = Ticket.objects.open().count()
        print(f"tickets: {Ticket.objects.count():,} ({open_:,} open), "
              f"PostgreSQL {connection.pg_version}")  # fmt: skip
    queue(args.repeat)
    print("\n== targets ==")
    for name, ok, figure in api_scale.targets:
        print(f"{'ok    ' if ok else 'MISSED'} {name}: {figure}")


if __name__ == "__main__":
    main()
