"""The lean write path (issue 14 item 3): creating a ticket, moving it and updating it cost a
small, constant number of SQL queries, and the clocks and summary they store equal a fresh
recompute from the ledger, so the lean path cannot drift from the truth.

The counts include the SAVEPOINT/RELEASE pair of each service's transaction (a test runs inside
a transaction; in production these are BEGIN/COMMIT, which Django does not count).
"""

import datetime as dt
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from escalation.models import Notification, WebhookEndpoint
from sla import services as sla_services
from sla.models import CalendarDate, Clock, Contract, PolicyTarget, ServiceWindow
from tickets import services
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db

LIST = "/api/v1/tickets/"
TOLD = 2  # queries of an event the customers are told of (escalation.customer.tell)
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam, office hours
CLOCK_COLUMNS = (
    "calendar_id", "target_seconds", "started_at", "due_at", "at_risk_at", "paused",
    "stopped_at", "used_seconds", "state", "computed_at",
)  # fmt: skip
RESOLUTION = {
    "resolution_type": "definitive",
    "resolution_cause": "Faulty card",
    "resolution_how": "Card replaced",
}


@pytest.fixture(autouse=True)
def _frozen():
    """One instant for the whole test: a write and the recompute it is compared with see the
    same `now`."""
    with freeze_time(MONDAY):
        yield


def stored(ticket):
    ticket.refresh_from_db()
    clocks = {
        c.target: tuple(getattr(c, name) for name in CLOCK_COLUMNS)
        for c in Clock.objects.filter(ticket=ticket)
    }
    return clocks, (ticket.next_due_at, ticket.sla_state, ticket.next_sla_check_at)


def assert_equals_recompute(ticket):
    """What the write stored == what recompute derives from the ledger."""
    written = stored(ticket)
    assert written[0], "the write stored no clocks"
    sla_services.recompute(ticket)
    assert stored(ticket) == written


def count(fn):
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return result, len(ctx.captured_queries)


# --- create -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["acme.user", "agent"])
def test_api_create_is_at_most_11_queries(api, users, acme, contracts, who, make_ticket):
    make_ticket()  # the first registration of the day builds the terms (then cached)
    data = {"title": "Voicemail broken", "description": "Since today.", "priority": 3}
    if who == "agent":
        data["organization"] = acme.pk
    client = api(users[who])
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(LIST, data, format="json")
    assert response.status_code == 201, response.content
    # numbering, the ticket with its SLA summary, priority history, audit, terms + ledger
    # start, clocks, the receipt's outbox rows (the webhook check is cached: none), the
    # SAVEPOINT/RELEASE pair, and the organisation an agent names; the response shows the
    # clocks just written without reading them back, and no outage of a new ticket
    assert len(ctx.captured_queries) <= 11, [q["sql"][:80] for q in ctx.captured_queries]
    assert not [q for q in ctx.captured_queries if q["sql"].startswith('SELECT "sla_outage"')]
    # the summary rides in the INSERT: no second write of the new row (it would add an entry
    # to each of the ticket table's indexes)
    assert not [q for q in ctx.captured_queries if q["sql"].startswith('UPDATE "tickets_ticket"')]
    assert not [q for q in ctx.captured_queries if q["sql"].startswith('SELECT "sla_clock"')]
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert [s["target"] for s in response.json()["sla"]] == ["response", "restore", "resolution"]
    shown = api(users[who]).get(f"{LIST}{ticket.pk}/").json()["sla"]
    assert response.json()["sla"] == shown  # the same clocks as a later read
    assert Notification.objects.filter(ticket=ticket, trigger="receipt").count() == 2
    assert_equals_recompute(ticket)


def test_customer_portal_create_is_at_most_12_queries(client, users, contracts, make_ticket):
    make_ticket()
    customer = users["acme.user"]
    client.force_login(customer)
    form = {"title": "Printer offline", "description": "Floor 2.", "priority": 3}
    with CaptureQueriesContext(connection) as ctx:
        response = client.post("/tickets/new/", form)
    assert response.status_code == 302
    # the request: the session, user and membership lookups of any signed-in page (3), the
    # SAVEPOINT/RELEASE pairs of the view's and the service's transaction in a test (4), and the
    # create's own statements (organisation, numbering, ticket with its summary, priority
    # history, audit, terms, ledger start, clocks, receipt rows: 9)
    statements = [q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) <= 3 + 9, [q["sql"][:60] for q in statements]
    customer.refresh_from_db()
    customer.membership.organization  # noqa: B018 - loaded, as the request has it
    ticket, queries = count(
        lambda: services.create_ticket(
            actor=customer, title="Scanner offline", description="Floor 3.", priority=3
        )
    )
    assert queries <= 10
    assert_equals_recompute(ticket)


def test_p1_create_adds_the_registration_escalation(api, users, contracts, make_ticket):
    """P1 raises the registration escalation (SPEC §5) with its notifications to the level's
    owners (one INSERT for all of them), and the P1 reminder/PIR moments, then a recompute:
    more queries, but none per recipient."""
    make_ticket()
    data = {"title": "Site down", "description": "Everything.", "priority": 1}
    response, queries = count(lambda: api(users["acme.user"]).post(LIST, data, format="json"))
    assert response.status_code == 201
    assert queries <= 28  # and the answer shows no outage without asking (a new ticket)
    assert_equals_recompute(Ticket.objects.get(pk=response.json()["id"]))


def test_a_ticket_registered_after_its_deadline_is_due_at_once(users, contracts, make_ticket):
    """No recompute after start: a clock already breached still makes the ticket due now."""
    ticket = make_ticket(reported_at=MONDAY - dt.timedelta(days=3))
    assert ticket.sla_state == "breached"
    assert ticket.next_sla_check_at <= MONDAY + dt.timedelta(seconds=1)
    assert_equals_recompute(ticket)


# --- transitions and updates ------------------------------------------------------------------


def test_transitions_and_updates_are_at_most_12_queries(users, contracts, make_ticket):
    agent, customer = users["agent"], users["acme.user"]
    ticket = make_ticket()
    # Every event the customers are told of (issue 12: the reporter and the watchers) costs
    # TOLD more: its audience in one query, its outbox rows in one INSERT, whatever the number
    # of watchers (tests/escalation/test_customer_notifications.py).
    steps = [
        ("take", lambda: services.take(ticket, agent), 12),
        ("edit", lambda: services.update_ticket(ticket, agent, title="Phones down"), 12),
        ("update", lambda: services.add_update(ticket, agent, "Looking into it."), 12),
        (
            "wait",
            lambda: services.transition(ticket, agent, Status.WAITING_FOR_CUSTOMER),
            12 + TOLD,
        ),
        # the customer's reply is an update and a transition (response received) in one
        ("reply", lambda: services.add_update(ticket, customer, "Here you are."), 13 + 2 * TOLD),
        (
            "priority",
            lambda: services.change_priority(ticket, agent, 4, "Workaround"),
            12 + TOLD,
        ),
        (
            "resolve",
            lambda: services.transition(ticket, agent, Status.RESOLVED, resolution=RESOLUTION),
            12 + TOLD,
        ),
        ("close", lambda: services.transition(ticket, customer, Status.CLOSED), 12 + TOLD),
    ]
    for name, step, limit in steps:
        _result, queries = count(step)
        assert queries <= limit, (name, queries)
        assert_equals_recompute(ticket)
    assert ticket.status == Status.CLOSED


def test_a_first_worker_move_derives_the_clocks_once(users, contracts, make_ticket):
    """The provider's first action that moves the status (the API's new -> planned internal)
    records two ledger events, the response and the status, and derives the clocks from both
    in one recompute: 10 queries and the customers told, where a recompute per event cost 15.
    Nothing about follow-ups changes, so the ticket's SLA row is not written either."""
    agent = users["agent"]
    make_ticket()  # the first registration of the day builds the terms (then cached)
    ticket = make_ticket()
    _result, queries = count(
        lambda: services.transition(ticket, agent, Status.PLANNED_INTERNAL, note="")
    )
    assert queries <= 10 + TOLD
    kinds = list(ticket.clock_events.order_by("at", "pk").values_list("kind", flat=True))
    assert kinds == ["registered", "responded"]
    response = Clock.objects.get(ticket=ticket, target="response")
    assert response.stopped_at == MONDAY and response.state == "met"
    assert_equals_recompute(ticket)


def test_p2_priority_change_reads_its_reminders(users, contracts, make_ticket):
    """P1/P2 have update reminders (SPEC §3.2): the next check reads the last public update and
    the reminder rows, two queries more."""
    agent = users["agent"]
    ticket = make_ticket()
    services.take(ticket, agent)
    _result, queries = count(lambda: services.change_priority(ticket, agent, 2, "Whole floor"))
    assert queries <= 14 + TOLD
    assert_equals_recompute(ticket)


# --- the cached terms -------------------------------------------------------------------------


def test_terms_are_read_once_per_organisation_kind_and_day(users, contracts, make_ticket):
    make_ticket()
    second, queries = count(lambda: make_ticket())
    third, queries_again = count(lambda: make_ticket())
    assert queries == queries_again
    assert second.sla_terms.terms == third.sla_terms.terms


def test_a_policy_target_saved_applies_to_the_next_ticket(users, contracts, make_ticket, policy):
    before = make_ticket()
    target = PolicyTarget.objects.get(policy=policy, kind="incident", priority=3, target="response")
    target.amount = 30
    target.unit = "minutes"
    target.save()
    after = make_ticket()
    response = {c.target: c for c in after.clocks.all()}["response"]
    assert response.target_seconds == 30 * 60
    assert {c.target: c for c in before.clocks.all()}["response"].target_seconds != 30 * 60


def test_a_contract_changed_or_deleted_applies_to_the_next_ticket(
    users, contracts, make_ticket, policy
):
    office = make_ticket("globex.user", priority=1)  # Globex: 24/7 for P1
    contract = contracts["globex"]
    contract.service_window = ServiceWindow.OFFICE_HOURS
    contract.save()
    moved = make_ticket("globex.user", priority=1)
    assert office.sla_terms.terms["service_window"] == ServiceWindow.ALWAYS
    assert moved.sla_terms.terms["service_window"] == ServiceWindow.OFFICE_HOURS
    Contract.objects.filter(pk=contract.pk).get().delete()
    fallback = make_ticket("globex.user")
    assert fallback.sla_terms.contract is None
    assert fallback.sla_terms.terms["policy"] == policy.pk


def test_a_calendar_date_applies_to_the_next_ticket(users, contracts, make_ticket, policy):
    before = make_ticket(priority=3)
    CalendarDate.objects.create(
        calendar_id=policy.office_calendar_id, date=dt.date(2026, 11, 23), kind="closed"
    )
    after = make_ticket(priority=3)
    due = {c.target: c.due_at for c in before.clocks.all()}["response"]
    later = {c.target: c.due_at for c in after.clocks.all()}["response"]
    assert later > due  # Monday is closed now: the clock starts on Tuesday
    assert_equals_recompute(after)


def test_a_new_webhook_endpoint_gets_the_next_ticket(users, acme, contracts, make_ticket):
    make_ticket()  # remembers that Acme has no endpoint
    endpoint = WebhookEndpoint.objects.create(organization=acme, url="https://hooks.example/h")
    ticket = make_ticket()
    assert Notification.objects.filter(endpoint=endpoint, ticket=ticket).count() == 1
