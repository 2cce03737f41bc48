"""Fast at a million tickets (issue 14), on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pim_bench \\
        .venv/bin/python bench/api_scale.py --tickets 1000000 [--no-http] [--regenerate]

Builds the tickets once with bench/data.py (again with --regenerate or another --tickets),
then prints:
- p50/p95 of every list a person opens, each request through the whole Django stack in
  process (middleware, authentication, serializer or template): the agent's API list in its
  default order and at page 1000 (through the cursor), each API filter and ordering, the
  authorised contact's organisation list, the customer's "my tickets", the agent queue; the
  compliance report (API and page);
- `EXPLAIN (ANALYZE, BUFFERS)` of each list's main query (the one that reads the rows);
- unless --no-http: API ticket create (as a customer) and transition (as an agent) under
  gunicorn -w 2 with concurrent clients, each on a keep-alive connection: rate, p50/p95,
  errors;
- one summary line per target: `ok` or `MISSED`.
Redis: CELERY_BROKER_URL / CACHE_URL (default databases 3 and 4, flushed by the HTTP part).
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.client import HTTPConnection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pim_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim.settings")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/3")
os.environ.setdefault("CACHE_URL", "rediscache://127.0.0.1:6379/4")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("HTTPS", "false")
os.environ.setdefault("API_RATE_USER", "100000000/min")
os.environ.setdefault("API_RATE_ANON", "100000000/min")
os.environ.setdefault("EMAIL_URL", "dummymail://")

from bench import data  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LIST_TARGET_MS = 100
SEARCH_TARGET_MS = 300
REPORT_TARGET_MS = 1000
CREATE_TARGET = 150  # per second, idle (DESIGN §7)
targets = []  # (name, ok, figure)


def target(name, ok, figure):
    targets.append((name, ok, figure))


def percentiles(samples):
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    return statistics.median(samples), p95


# --- in-process lists -----------------------------------------------------------------------


def clients():
    """Logged-in test clients: staff pass the second step with a confirmed TOTP device (as
    tests/conftest.py does), API callers use a token."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from rest_framework.test import APIClient

    from pim.models import User
    from pim.security import twofactor

    out = {}
    for username in ("agent", "director", "acme.contact", "acme.user"):
        user = User.objects.get(username=username)
        page = Client()
        page.force_login(user)
        if twofactor.is_required(user):
            device = twofactor.authenticator(user) or TOTPDevice.objects.create(
                user=user, name="authenticator", confirmed=True
            )
            session = page.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        api = APIClient()
        api.force_authenticate(user)
        out[username] = (page, api, user)
    return out


def main_query(captured):
    """The query that reads a list's rows: the biggest SELECT on tickets_ticket with a LIMIT."""
    candidates = [
        q["sql"]
        for q in captured
        if q["sql"].startswith("SELECT") and "tickets_ticket" in q["sql"] and "LIMIT" in q["sql"]
        and "COUNT(" not in q["sql"]
    ]  # fmt: skip
    return max(candidates, key=len) if candidates else None


def explain(sql):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(r[0] for r in cur.fetchall())


def time_list(name, client, url, repeat, limit_ms=LIST_TARGET_MS, plans=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    captured = list(ctx.captured_queries)  # the next request resets the connection's log
    if response.status_code != 200:
        print(f"{name}: HTTP {response.status_code} {response.content[:300]!r}")
        target(f"{name} answers 200", False, response.status_code)
        return
    for _ in range(2):
        client.get(url)
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - t) * 1000)
    p50, p95 = percentiles(samples)
    queries = len(captured)
    print(f"{name:<46} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  {queries:2d} queries")
    target(f"{name} p95 < {limit_ms} ms", p95 < limit_ms, f"p95 {p95:.1f} ms")
    if plans is not None:
        sql = main_query(captured)
        plans.append((name, url, explain(sql) if sql else "(no list query)"))


def cursor_url(api, base, depth_rows, page_size=25):
    """The URL of the page that starts after `depth_rows` rows, reached through next links."""
    url = f"{base}{'&' if '?' in base else '?'}page_size=100"
    walked = 0
    while walked < depth_rows:
        body = api.get(url).json()
        walked += len(body["results"])
        url = body["next"]
        if url is None:
            return None
    return url.replace("page_size=100", f"page_size={page_size}")


def lists(repeat):
    from pim.models import Organization

    c = clients()
    agent_api = c["agent"][1]
    acme = Organization.objects.get(slug="acme")
    agent_id = c["agent"][2].pk
    plans = []
    print(f"\n== lists ({repeat} requests each, in process) ==")
    api = "/api/v1/tickets/"
    time_list("API agent list (default order)", agent_api, api, repeat, plans=plans)
    deep = cursor_url(agent_api, api, 999 * 25)
    if deep:
        time_list("API agent list, page 1000 (cursor)", agent_api, deep, repeat, plans=plans)
    time_list("API agent list, page 40 (?page=40)", agent_api, f"{api}?page=40", repeat)
    filters = {
        "status=new": "status=new",
        "status=open": "status=open",
        "priority=1": "priority=1",
        "kind=change": "kind=change",
        "organization": f"organization={acme.pk}",
        "sla_state=breached": "sla_state=breached",
        "sla_state=at_risk": "sla_state=at_risk",
        "assignee": f"assignee={agent_id}",
        "assignee=unassigned": "assignee=unassigned",
    }
    for label, query in filters.items():
        time_list(f"API filter {label}", agent_api, f"{api}?{query}", repeat, plans=plans)
    time_list(
        "API filter search=printer", agent_api, f"{api}?search=printer", repeat,
        limit_ms=SEARCH_TARGET_MS, plans=plans,
    )  # fmt: skip
    for ordering in ("reported_at", "priority", "-priority", "status", "number", "-updated_at",
                     "next_due_at", "-next_due_at"):  # fmt: skip
        time_list(f"API ordering={ordering}", agent_api, f"{api}?ordering={ordering}", repeat,
                  plans=plans)  # fmt: skip
    deep_due = cursor_url(agent_api, f"{api}?ordering=next_due_at", 999 * 25)
    if deep_due:
        time_list("API ordering=next_due_at, page 1000", agent_api, deep_due, repeat, plans=plans)
    time_list("API contact list", c["acme.contact"][1], api, repeat, plans=plans)
    time_list("API customer list", c["acme.user"][1], api, repeat, plans=plans)
    time_list("contact organisation list /tickets/", c["acme.contact"][0], "/tickets/", repeat,
              plans=plans)  # fmt: skip
    time_list("contact organisation list, all states", c["acme.contact"][0],
              "/tickets/?state=all", repeat, plans=plans)  # fmt: skip
    time_list("customer my tickets /tickets/", c["acme.user"][0], "/tickets/", repeat,
              plans=plans)  # fmt: skip
    time_list("agent queue /queue/", c["agent"][0], "/queue/", repeat, plans=plans)
    time_list("agent queue, soonest due first", c["agent"][0], "/queue/?sort=next_due&dir=asc",
              repeat, plans=plans)  # fmt: skip
    time_list("agent queue, all statuses", c["agent"][0], "/queue/?status=all", repeat,
              plans=plans)  # fmt: skip
    print(f"\n== reports ({max(3, repeat // 5)} requests each) ==")
    time_list("compliance API (director)", c["director"][1], "/api/v1/sla/compliance/",
              max(3, repeat // 5), limit_ms=REPORT_TARGET_MS)  # fmt: skip
    time_list("compliance page /sla/ (director)", c["director"][0], "/sla/", max(3, repeat // 5),
              limit_ms=REPORT_TARGET_MS)  # fmt: skip
    print("\n== EXPLAIN (ANALYZE, BUFFERS) of each list's main query ==")
    for name, url, plan in plans:
        print(f"\n-- {name}: GET {url[:120]}\n{plan}")


# --- create and transition under gunicorn ------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_connections = threading.local()


def request(base, method, path, token, body=None):
    """One API request on this thread's keep-alive connection, as an integration's HTTP
    session sends them (and as the peer harness's load.py does); a new connection after an
    error."""
    conn = getattr(_connections, "conn", None)
    if conn is None:
        parts = urllib.parse.urlsplit(base)
        conn = HTTPConnection(parts.hostname, parts.port, timeout=30)
        _connections.conn = conn
    try:
        conn.request(
            method,
            path,
            body=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        content = response.read()
    except Exception:
        conn.close()
        _connections.conn = None
        raise
    if response.status >= 400:
        raise RuntimeError(f"HTTP {response.status}: {content[:200]!r}")
    return response.status, json.loads(content or b"null")


def load(label, seconds, concurrency, work):
    """`work(worker, n)` runs one request; closed loop for `seconds` with `concurrency`
    threads. Returns the created objects' bodies."""
    samples, errors, bodies = [], [], []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(w):
        n = 0
        while time.perf_counter() < stop:
            t = time.perf_counter()
            try:
                body = work(w, n)
            except Exception as exc:  # noqa: BLE001 - counted and shown
                with lock:
                    errors.append(repr(exc)[:200])
            else:
                with lock:
                    samples.append((time.perf_counter() - t) * 1000)
                    bodies.append(body)
            n += 1

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    rate = len(samples) / elapsed
    p50, p95 = percentiles(samples) if samples else (0, 0)
    print(f"{label:<46} {rate:7.1f}/s  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
          f"{len(errors)} errors{(': ' + errors[0]) if errors else ''}")  # fmt: skip
    return rate, errors, bodies


def http(seconds, concurrency):
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "bench-api-scale-" + "x" * 40}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    for db in ("3", "4"):  # this bench's broker and cache
        url = os.environ["CELERY_BROKER_URL" if db == "3" else "CACHE_URL"]
        subprocess.run(["redis-cli", "-u", url.replace("rediscache", "redis"), "flushdb"],
                       capture_output=True, check=False)  # fmt: skip
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "pim.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning"], cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)

        def token(username):
            req = urllib.request.Request(
                f"{base}/api/v1/auth/token/",
                data=json.dumps({"username": username, "password": "demo"}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=30) as response:
                return json.loads(response.read())["token"]

        from pim.models import ApiToken

        # a user has 20 active tokens at most: drop those of earlier runs on this database
        ApiToken.objects.filter(user__username__in=("acme.user", "agent")).delete()
        customer, agent = token("acme.user"), token("agent")
        print(f"\n== HTTP: gunicorn -w 2, {concurrency} clients, {seconds} s each ==")
        payload = {"title": "Printer offline", "description": "Floor 2 printer does not respond",
                   "priority": 3}  # fmt: skip
        rate, errors, created = load(
            "API create (customer)", seconds, concurrency,
            lambda w, n: request(base, "POST", "/api/v1/tickets/", customer, payload)[1],
        )  # fmt: skip
        target(f"API create >= {CREATE_TARGET}/s, 0 errors", rate >= CREATE_TARGET and not errors,
               f"{rate:.1f}/s, {len(errors)} errors")  # fmt: skip
        ids = [body["id"] for body in created]
        per_worker = [ids[w::concurrency] for w in range(concurrency)]

        def transition(w, n):
            mine = per_worker[w]
            if n >= len(mine):
                raise RuntimeError("out of new tickets")
            path = f"/api/v1/tickets/{mine[n]}/transition/"
            return request(base, "POST", path, agent, {"status": "planned_internal"})[1]

        rate, errors, _ = load("API transition new -> planned_internal (agent)",
                               seconds, concurrency, transition)  # fmt: skip
        target("API transition, 0 errors", not errors, f"{rate:.1f}/s, {len(errors)} errors")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    data.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("collectstatic", "--noinput", verbosity=0)  # pages link the manifest's names
    from django_scopes import scopes_disabled

    from tickets.models import Ticket

    with scopes_disabled():
        if args.regenerate or Ticket.objects.count() != args.tickets:
            data.build(args.tickets)
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM sla_clock")
            clocks = cur.fetchone()[0]
        print(f"tickets: {Ticket.objects.count():,}, clocks: {clocks:,}, "
              f"PostgreSQL {connection.pg_version}")  # fmt: skip
    lists(args.repeat)
    if not args.no_http:
        http(args.seconds, args.concurrency)
    print("\n== targets ==")
    for name, ok, figure in targets:
        print(f"{'ok    ' if ok else 'MISSED'} {name}: {figure}")


if __name__ == "__main__":
    main()
