"""API lists at any depth (pim/pagination.py): keyset pages along every ordering with the id as
tiebreaker, ?page=N for the first rows, validated ordering, bounded counts."""

import importlib
from datetime import UTC, datetime, timedelta
from functools import cmp_to_key

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from pim import pagination
from tickets.api import TicketViewSet
from tickets.models import OPEN_STATUSES, Status, Ticket

LIST = "/api/v1/tickets/"
BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STATUSES = [Status.NEW, Status.PLANNED_INTERNAL, Status.CLOSED]


@pytest.fixture
def tied(users, acme, globex):
    """23 tickets whose ordering fields tie in groups (3 reported times, 3 priorities, a few
    due times and NULLs), so only the id tiebreaker makes the order total."""
    rows = []
    for i in range(23):
        org, reporter = (acme, users["acme.user"]) if i % 4 else (globex, users["globex.user"])
        rows.append(
            Ticket(
                number=f"INC-2026-{900 - i:05d}",  # numbers run against the ids
                title=f"Tied {i}",
                description="-",
                organization=org,
                reporter=reporter,
                priority=1 + i % 3,
                status=STATUSES[i % 3],
                reported_at=BASE + timedelta(hours=i % 3),
                next_due_at=None if i % 5 == 0 else BASE + timedelta(hours=i % 2),
                sla_state=["pending", "breached"][i % 2],
            )
        )
    with scopes_disabled():
        Ticket.objects.bulk_create(rows)
        Ticket.objects.update(updated_at=BASE)  # all tie on updated_at
        return list(Ticket.objects.order_by("pk"))


def walk(client, url, link="next"):
    """Every page from `url` on, following `link`; returns the pages' id lists."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([row["id"] for row in body["results"]])
        url = body[link]
        assert len(pages) < 50
    return pages


ORDERINGS = [
    variant
    for field in TicketViewSet.ordering_fields
    for variant in (field, f"-{field}")
] + ["priority,-reported_at", "-status,number"]  # fmt: skip


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_cursor_pages_cover_every_row_once_in_order(api, users, tied, ordering):
    client = api(users["agent"])
    pages = walk(client, f"{LIST}?ordering={ordering}&page_size=4")
    ids = [pk for page in pages for pk in page]
    assert sorted(ids) == [t.pk for t in tied]  # no row twice, none missing
    assert all(len(page) == 4 for page in pages[:-1])

    # the order is the ordering, ties broken by id in the direction of the last field
    expected = sorted(tied, key=cmp_to_key(lambda a, b: compare(ordering.split(","), a, b)))
    assert ids == [t.pk for t in expected]

    # and back again along the previous links, from the last page
    last = client.get(f"{LIST}?ordering={ordering}&page_size=4")
    url = last.json()["next"]
    while True:
        following = client.get(url).json()["next"]
        if following is None:
            break
        url = following
    back = walk(client, url, link="previous")
    assert back == pages[::-1][: len(back)] and len(back) == len(pages)


def compare(terms, a, b):
    """The documented order in Python: each term (NULLs of next_due_at last either way), then
    the id in the last term's direction."""
    for term in terms:
        name, descending = term.lstrip("-"), term.startswith("-")
        va, vb = getattr(a, name), getattr(b, name)
        if va == vb:
            continue
        if va is None or vb is None:
            return 1 if va is None else -1
        return (1 if va < vb else -1) if descending else (-1 if va < vb else 1)
    return (1 if a.pk < b.pk else -1) if terms[-1].startswith("-") else (-1 if a.pk < b.pk else 1)


def test_next_due_at_sorts_nulls_last_both_ways(api, users, tied):
    client = api(users["agent"])
    for ordering in ("next_due_at", "-next_due_at"):
        ids = [
            pk for page in walk(client, f"{LIST}?ordering={ordering}&page_size=5") for pk in page
        ]
        dues = [Ticket.objects.values_list("next_due_at", flat=True).get(pk=pk) for pk in ids]
        nulls = [d is None for d in dues]
        assert nulls == sorted(nulls), ordering  # every NULL after every due time
        present = [d for d in dues if d is not None]
        assert present == sorted(present, reverse=ordering.startswith("-"))


def test_a_customer_pages_only_through_their_own_tickets(api, users, tied):
    pages = walk(api(users["acme.user"]), f"{LIST}?ordering=priority&page_size=3")
    ids = [pk for page in pages for pk in page]
    assert sorted(ids) == [t.pk for t in tied if t.reporter_id == users["acme.user"].pk]


@pytest.mark.parametrize(
    "ordering",
    ["description", "-reporter", "priority,bogus", "sla__due_at", "?", "next_sla_check_at"],
)
def test_unknown_ordering_is_400(api, users, tied, ordering):
    response = api(users["agent"]).get(LIST, {"ordering": ordering})
    assert response.status_code == 400
    message = response.json()["ordering"][0]
    assert "Unknown ordering field" in message and "next_due_at" in message


def test_empty_ordering_is_the_default(api, users, tied):
    client = api(users["agent"])
    assert client.get(LIST, {"ordering": ""}).json() == client.get(LIST).json()


def test_page_numbers_for_the_first_rows(api, users, tied):
    client = api(users["agent"])
    by_cursor = walk(client, f"{LIST}?page_size=5")
    second = client.get(LIST, {"page": 2, "page_size": 5}).json()
    assert [row["id"] for row in second["results"]] == by_cursor[1]
    assert "page=3" in second["next"] and "page=1" in second["previous"]
    assert second["count"] == 23 and second["count_exact"] is True
    last = client.get(LIST, {"page": 5, "page_size": 5}).json()
    assert [row["id"] for row in last["results"]] == by_cursor[4] and last["next"] is None
    for page in ("0", "-1", "x", "201", str(10**30)):
        response = client.get(LIST, {"page": page, "page_size": 5})
        assert response.status_code == 400, page
        assert "cursor" in response.json()["page"][0]


def test_page_numbers_hand_over_to_the_cursor_at_the_bound(api, users, tied, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_BOUND", 10)
    client = api(users["agent"])
    first = client.get(LIST, {"page": 2, "page_size": 5}).json()  # the last numbered page
    assert "cursor=" in first["next"] and "page=" not in first["next"]
    rest = walk(client, first["next"])
    ids = [row["id"] for row in client.get(LIST, {"page": 1, "page_size": 5}).json()["results"]]
    ids += [row["id"] for row in first["results"]] + [pk for page in rest for pk in page]
    assert sorted(ids) == [t.pk for t in tied]


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        "!!!",
        "eyJrIjpbXX0=",
        "e30=",
        "eyJrIjpbInJlcG9ydGVkX2F0IiwiaWQiXSwiciI6MCwidiI6WyJ4IiwxXX0=",
    ],
)
def test_a_bad_cursor_is_400(api, users, tied, cursor):
    response = api(users["agent"]).get(LIST, {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_a_cursor_of_another_ordering_is_400(api, users, tied):
    client = api(users["agent"])
    following = client.get(LIST, {"ordering": "priority", "page_size": 5}).json()["next"]
    cursor = following.split("cursor=")[1].split("&")[0]
    response = client.get(LIST, {"ordering": "number", "cursor": cursor})
    assert response.status_code == 400


def test_counts_are_bounded(api, users, tied, monkeypatch):
    client = api(users["agent"])
    monkeypatch.setattr(pagination, "COUNT_BOUND", 30)
    body = client.get(LIST).json()
    assert (body["count"], body["count_exact"]) == (23, True)
    monkeypatch.setattr(pagination, "COUNT_BOUND", 10)
    body = client.get(LIST).json()
    assert body["count_exact"] is False
    if connection.vendor == "postgresql":
        assert body["count"] >= 11  # the planner's estimate, never below the bound
    else:
        assert body["count"] is None
    filtered = client.get(LIST, {"priority": 1}).json()  # 8 rows: under the bound again
    assert (filtered["count"], filtered["count_exact"]) == (8, True)


def test_the_schema_documents_cursor_page_ordering_and_count(api, users):
    text = api(users["agent"]).get("/api/schema/").content.decode()
    for needle in ("name: cursor", "count_exact", "next_due_at", "An unknown field answers 400"):
        assert needle in text, needle


# --- the portal's lists: page numbers with a bounded count -----------------------------------


@pytest.mark.parametrize(("username", "url"), [("agent", "/queue/"), ("acme.contact", "/tickets/")])
def test_portal_lists_count_up_to_the_bound(client, users, tied, monkeypatch, username, url):
    client.force_login(users[username])
    query = {"status": "all"} if url == "/queue/" else {"state": "all"}
    visible = 23 if username == "agent" else sum(t.organization.slug == "acme" for t in tied)
    page = client.get(url, query)
    assert page.context["page"].paginator.count == visible
    assert f"{visible} tickets" in page.text
    monkeypatch.setattr(pagination, "COUNT_BOUND", 10)
    page = client.get(url, {**query, "page": 99})
    paginator = page.context["page"].paginator
    assert not paginator.count_exact and paginator.num_pages == 1  # 10 rows, 25 a page
    if connection.vendor == "postgresql":
        assert "About " in page.text and paginator.estimate >= 11
    else:
        assert "More than 10 tickets" in page.text
    assert len(page.context["page"].object_list) == 10


def test_the_postgresql_queue_index_covers_exactly_the_open_statuses():
    """The partial index ticket_queue_due (raw SQL, migration 0006) serves the queue only while
    its WHERE clause names the statuses the queue's filter names."""
    migration = importlib.import_module("tickets.migrations.0006_list_indexes")
    assert ", ".join(f"'{s}'" for s in sorted(OPEN_STATUSES)) == migration.OPEN
