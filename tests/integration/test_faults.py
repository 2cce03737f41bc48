"""Durability under faults, with real parts of the test's own: a PostgreSQL cluster and a Redis
server on free ports in temporary folders (tests/integration/private_services.py), gunicorn, a
Celery worker and beat pointed at them, and an SMTP server on loopback.

1. Redis (broker and cache, as in production) stops for 30 seconds while customers keep filing
   tickets through the API and a P1's response deadline passes: every ticket the API accepted is
   written, every ticket filed during the outage is accepted, and after Redis is back every
   notification (receipts, the P1 escalations, the response breach) is delivered exactly once.
2. PostgreSQL is restarted under a running worker and beat while a P1's response deadline
   passes: the same worker and beat processes carry on by themselves (no restart), the breach
   is escalated once, and the web answers again.

Exactly once is checked by Message-ID: PIM derives it from the notification's dedup key, so a
second delivery of the same notification would show up as a repeated Message-ID.
"""

import datetime as dt
import time
from collections import Counter

import pytest
import requests

from tests.integration.private_services import (
    PrivatePostgres,
    PrivateRedis,
    Processes,
    free_port,
    migrate,
    orm_on,
    portal_env,
    require_private_services,
    wait_for,
)

pytestmark = [pytest.mark.integration]

TEMPLATE = "pim_template"
OUTAGE_SECONDS = 30


@pytest.fixture(scope="module")
def private_postgres(tmp_path_factory):
    require_private_services()
    postgres = PrivatePostgres().init()
    try:
        postgres.start()
        postgres.sql(f"CREATE DATABASE {TEMPLATE}")
        migrate(postgres, TEMPLATE, tmp_path_factory.mktemp("migrate"))
        yield postgres
    finally:
        postgres.destroy()


def _seed(globex_p1_minutes=1):
    """Two organisations, their customers, the staff the escalation matrix names, API tokens,
    and a 24/7 contract for Globex whose P1 response target is one minute."""
    from pim.auth import create_token
    from pim.models import Location, Organization, Role, Service
    from sla.models import Contract, ContractOverride, ServiceWindow, SlaPolicy
    from tests.conftest import make_user

    orgs = {}
    for slug, name in (("acme", "Acme Zorg"), ("globex", "Globex Logistics")):
        orgs[slug] = Organization.objects.create(name=name, slug=slug)
        Service.objects.create(organization=orgs[slug], name="Telefonie", code="telefonie")
        Location.objects.create(organization=orgs[slug], name="Utrecht")
    make_user("acme.user", Role.CUSTOMER_USER, orgs["acme"])
    make_user("globex.user", Role.CUSTOMER_USER, orgs["globex"])
    for username, role in (
        ("agent", Role.AGENT), ("oncall", Role.ONCALL), ("csm", Role.CSM),
        ("opsmanager", Role.OPS_MANAGER), ("director", Role.OPS_DIRECTOR),
    ):  # fmt: skip
        make_user(username, role)
    contract = Contract.objects.create(
        organization=orgs["globex"],
        policy=SlaPolicy.objects.get(name="Standaard SLA"),
        service_window=ServiceWindow.ALWAYS,
        valid_from=dt.date(2020, 1, 1),
    )
    ContractOverride.objects.create(
        contract=contract, kind="incident", priority=1, target="response", amount=1
    )
    from pim.models import User

    return {
        name: create_token(User.objects.get(username=name), "fault test")[1]
        for name in ("acme.user", "globex.user")
    }


@pytest.fixture
def fault_stack(request, private_postgres, smtp, tmp_path, django_db_blocker):
    """A fresh database from the template, a private Redis, and the portal's processes."""
    dbname = f"pim_{request.node.name.removeprefix('test_')[:40]}"
    private_postgres.sql(f"CREATE DATABASE {dbname} TEMPLATE {TEMPLATE}")
    redis = PrivateRedis(tmp_path)
    redis.start()
    controller, inbox = smtp
    env = portal_env(private_postgres.url(dbname), redis, controller.port, tmp_path / "var")
    procs = Processes(env, tmp_path)
    web_port = free_port()
    try:
        with orm_on(private_postgres, dbname, django_db_blocker) as conn:
            tokens = _seed()
            procs.web(web_port)
            procs.worker()
            procs.beat()
            api = Api(f"http://127.0.0.1:{web_port}", tokens)
            assert wait_for(api.healthy, 90, 0.5), procs.log("web")[-3000:]
            yield {
                "api": api,
                "inbox": inbox,
                "redis": redis,
                "postgres": private_postgres,
                "procs": procs,
                "conn": conn,
            }
    finally:
        procs.stop_all()
        redis.stop()


class Api:
    def __init__(self, base, tokens):
        self.base = base
        self.tokens = tokens
        self.accepted = []  # ticket numbers the API answered 201 for
        self.slowest = 0.0

    def healthy(self):
        try:
            return requests.get(f"{self.base}/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def file(self, customer, title, priority=3):
        started = time.monotonic()
        response = requests.post(
            f"{self.base}/api/v1/tickets/",
            json={"title": title, "description": f"{title} (fault test)", "priority": priority},
            headers={"Authorization": f"Token {self.tokens[customer]}"},
            timeout=60,
        )
        self.slowest = max(self.slowest, time.monotonic() - started)
        assert response.status_code == 201, (response.status_code, response.text[:500])
        number = response.json()["number"]
        self.accepted.append(number)
        return number


def _fresh(conn, query):
    """Run an ORM query on a new connection; False while the database is unreachable."""
    from django.db import OperationalError

    conn.close()
    try:
        return query()
    except OperationalError:
        return False


def _email_rows():
    from escalation.models import Notification

    return list(Notification.objects.filter(channel="email").values_list("status", flat=True))


def _all_sent(conn):
    rows = _fresh(conn, _email_rows)
    return bool(rows) and all(status == "sent" for status in rows)


def _assert_exactly_once(inbox, expected_count):
    ids = Counter(message_id for _rcpt, _subject, message_id in inbox.messages)
    assert all(n == 1 for n in ids.values()), [m for m in ids.items() if m[1] > 1]
    assert len(ids) == expected_count, (len(ids), expected_count, inbox.messages)


def _tickets_written(api):
    from tickets.models import Ticket

    written = set(Ticket.objects.values_list("number", flat=True))
    assert written == set(api.accepted)
    assert len(api.accepted) == len(set(api.accepted))


def _escalation_triggers(number):
    from escalation.models import Escalation

    return set(Escalation.objects.filter(ticket__number=number).values_list("trigger", flat=True))


def _response_breaches(number):
    from sla.models import SlaEvent

    return SlaEvent.objects.filter(
        ticket__number=number, target="response", kind=SlaEvent.Kind.BREACHED
    ).count()


def _breached(conn, number):
    """The sweep recorded the P1's response breach. The P1 already holds the Low escalation it
    got at registration and a ticket has one open escalation per level, so the breach (also Low)
    is an SLA event and no second escalation."""
    return _fresh(conn, lambda: _response_breaches(number)) == 1


def test_redis_outage_loses_no_ticket_and_no_notification(fault_stack):
    api, inbox, redis, conn = (fault_stack[k] for k in ("api", "inbox", "redis", "conn"))
    p1 = api.file("globex.user", "Telefonie volledig uit", priority=1)
    p1_filed = time.monotonic()  # its response target (1 minute) passes during the outage
    assert wait_for(lambda: _all_sent(conn), 60), _email_rows()
    i = 0
    while time.monotonic() < p1_filed + 35:  # ordinary traffic before the outage
        api.file(("acme.user", "globex.user")[i % 2], f"Voor de storing {i}")
        i += 1
        time.sleep(3)

    redis.stop()
    assert not redis.ping()
    outage_ends = time.monotonic() + OUTAGE_SECONDS
    during = 0
    while time.monotonic() < outage_ends:
        api.file(("acme.user", "globex.user")[during % 2], f"Tijdens de storing {during}")
        during += 1
        time.sleep(2)
    assert time.monotonic() > p1_filed + 60  # the P1's response deadline passed in the outage
    assert not redis.ping()
    redis.start()  # empty: whatever the broker held is gone
    back = time.monotonic()

    assert during >= 10
    assert api.slowest < 15, api.slowest  # the broker's connect timeout, once per web process
    assert wait_for(lambda: _breached(conn, p1), 90)
    assert wait_for(lambda: _all_sent(conn), 90), _email_rows()
    recovered = time.monotonic() - back
    time.sleep(8)  # more sweep and relay periods: nothing goes out twice
    conn.close()
    print(  # noqa: T201 - the measurements, shown with -s
        f"redis outage: {len(api.accepted)} tickets ({during} during the outage), slowest answer "
        f"{api.slowest:.1f} s, {len(inbox.messages)} mails, all sent {recovered:.0f} s after Redis "
        "came back"
    )
    _tickets_written(api)
    assert _escalation_triggers(p1) == {"p1-registered"}
    assert _response_breaches(p1) == 1
    rows = _email_rows()
    assert all(status == "sent" for status in rows)
    _assert_exactly_once(inbox, len(rows))
    receipts = {
        subject for rcpt, subject, _id in inbox.messages if rcpt.endswith("user@example.com")
    }
    assert all(any(number in s for s in receipts) for number in api.accepted)


def test_postgres_restart_under_running_worker_and_beat(fault_stack):
    api, inbox, postgres, procs, conn = (
        fault_stack[k] for k in ("api", "inbox", "postgres", "procs", "conn")
    )
    worker_pid, beat_pid = procs.procs["worker"][0].pid, procs.procs["beat"][0].pid
    p1 = api.file("globex.user", "Telefonie volledig uit", priority=1)
    p1_filed = time.monotonic()
    api.file("acme.user", "Printer offline")
    assert wait_for(lambda: _all_sent(conn), 60), _email_rows()
    conn.close()
    time.sleep(max(0.0, p1_filed + 45 - time.monotonic()))

    postgres.stop("fast")  # every connection of web, worker and test is cut
    assert not postgres.is_up()
    time.sleep(20)  # the P1's response deadline passes while the database is down
    assert time.monotonic() > p1_filed + 60
    postgres.start()
    back = time.monotonic()

    assert wait_for(lambda: api.healthy(), 30)
    api.file("acme.user", "Na de herstart")
    api.file("globex.user", "Na de herstart")
    assert wait_for(lambda: _breached(conn, p1), 90)
    assert wait_for(lambda: _all_sent(conn), 90), _email_rows()
    recovered = time.monotonic() - back
    time.sleep(8)
    conn.close()
    print(  # noqa: T201 - the measurements, shown with -s
        f"postgres restart: {len(api.accepted)} tickets, {len(inbox.messages)} mails, all sent "
        f"{recovered:.0f} s after PostgreSQL came back"
    )
    # The same processes: they reconnected by themselves.
    assert procs.alive("worker") and procs.alive("beat")
    assert (procs.procs["worker"][0].pid, procs.procs["beat"][0].pid) == (worker_pid, beat_pid)
    _tickets_written(api)
    assert _escalation_triggers(p1) == {"p1-registered"}
    assert _response_breaches(p1) == 1
    rows = _email_rows()
    _assert_exactly_once(inbox, len(rows))
