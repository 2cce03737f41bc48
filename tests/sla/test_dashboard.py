"""The manager dashboard (issue 17 item 1): its figures on a seeded month equal a hand count,
every drill-down lists exactly the tickets a figure counted, the tenant scope, hostile input."""

import re
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from freezegun import freeze_time

from escalation.services import escalate_by_customer
from sla.dashboard import figures
from sla.sweep import sweep
from tickets import services
from tickets.models import SatisfactionRating, Status

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=AMS)
NOVEMBER = date(2026, 11, 1)
RESOLUTION = {"resolution_type": "definitive", "resolution_cause": "c", "resolution_how": "h"}
NUMBER = re.compile(r"\b(?:INC|CHG|PRB|QST|VRG)-\d{4}-\d{5}\b")
pytestmark = pytest.mark.django_db


def at(*a):
    return datetime(*a, tzinfo=AMS)


def incident(users, reporter, when, priority=3, respond_after=None, resolve_after=None):
    """An incident reported at `when`, taken after `respond_after` minutes and resolved
    `resolve_after` minutes after that (None: not yet)."""
    with freeze_time(when):
        t = services.create_ticket(
            actor=users[reporter], title=f"t {reporter}", description="d", priority=priority
        )
    if respond_after is not None:
        with freeze_time(when + timedelta(minutes=respond_after)):
            services.take(t, users["agent"])
    if resolve_after is not None:
        with freeze_time(when + timedelta(minutes=respond_after + resolve_after)):
            services.transition(t, users["agent"], Status.RESOLVED, resolution=RESOLUTION)
    return t


@pytest.fixture
def month(contracts, users):
    """November 2026, by hand (Acme office hours, Globex 24/7, P3: response 2 h, restore 8 h):
    - acme a: response met, restore met (60 min)      - acme b: response met, restore met
      (180 min)                                       - acme c: response breached (200 min),
      restore breached (2 days)                       - acme d: P1 open, untouched since the
      25th (response breached now; P1 escalates Low at registration)
      and its authorised contact escalated it on the 26th (Middle: above the Low)
    - acme e: P3 reported on the 30th at 11:00, untouched: response at risk at 12:00 (75 %)
    - globex g: P3, response met, restore met (30 min); rated 4 by its reporter
    - acme old: October, met (the trend's previous month)."""
    t = {
        "a": incident(users, "acme.user", at(2026, 11, 2, 9), 3, 30, 60),
        "b": incident(users, "acme.user", at(2026, 11, 3, 9), 3, 30, 180),
        "c": incident(users, "acme.user", at(2026, 11, 4, 9), 3, 200, 2 * 24 * 60),
        "d": incident(users, "acme.user", at(2026, 11, 25, 9), 1),
        "e": incident(users, "acme.user", at(2026, 11, 30, 10, 30), 3),
        "g": incident(users, "globex.user", at(2026, 11, 2, 9), 3, 30, 30),
        "old": incident(users, "acme.user", at(2026, 10, 5, 9), 3, 30, 60),
    }
    with freeze_time(at(2026, 11, 26, 10)):
        escalate_by_customer(t["d"], users["acme.contact"], "Too slow")
    with freeze_time(at(2026, 11, 10, 9)):
        SatisfactionRating.objects.create(
            ticket=t["g"], agent=users["agent"], rated_by=users["globex.user"], score=4,
            rated_at=at(2026, 11, 10, 9),
        )  # fmt: skip
    with freeze_time(NOW):
        sweep(NOW)  # the summary columns move on: e at risk, d breached
    return t


def board_of(user, organization_id=None):
    with freeze_time(NOW):
        return figures(user, NOVEMBER, organization_id)


def row(board, priority, target):
    return next(r for r in board.compliance if (r["priority"], r["target"]) == (priority, target))


def test_figures_equal_a_hand_count(month, users):
    board = board_of(users["director"])
    assert board.breached["count"] == 1  # d: the P1's response is overdue (c is resolved)
    assert [t["number"] for t in board.breached["tickets"]] == [month["d"].number]
    assert board.at_risk["count"] == 1
    assert [t["number"] for t in board.at_risk["tickets"]] == [month["e"].number]
    p3_response = row(board, 3, "response")
    # a, b, g met; c breached; e running (October's is not this month's)
    assert (p3_response["count"], p3_response["met"], p3_response["breached"]) == (5, 3, 1)
    assert p3_response["running"] == 1 and p3_response["share"] == 75.0
    p3_restore = row(board, 3, "restore")
    assert (p3_restore["met"], p3_restore["breached"], p3_restore["running"]) == (3, 1, 1)
    restore = next(r for r in board.restore if r["priority"] == 3)
    # a 60, b 180, c 2 working days of 9 h = 1080, g 30 (24/7): weighted over the restored
    assert restore["restored"] == 4
    assert restore["average_minutes"] == round((60 + 180 + 1080 + 30) / 4)
    assert restore["goal_minutes"] == 240 and restore["goal_met"] is False
    levels = {r["level"]: r for r in board.escalations["levels"]}
    assert levels["low"]["count"] >= 1  # d's registration escalation (P1)
    assert sum(r["count"] for r in levels.values()) == board.escalations["total"]
    workload = {p["assignee_id"]: p for p in board.workload["rows"]}
    assert workload[None]["total"] == 2  # d and e, unassigned
    assert sum(p["total"] for p in workload.values()) == 2
    trend = {t["month"]: t for t in board.trend}
    assert len(board.trend) == 12 and board.trend[-1]["month"] == NOVEMBER
    assert trend[NOVEMBER]["tickets"] == 6 and trend[date(2026, 10, 1)]["tickets"] == 1
    assert trend[date(2026, 10, 1)]["share"] == 100.0
    satisfaction = {s["month"]: s for s in board.satisfaction}
    assert satisfaction[NOVEMBER]["count"] == 1 and satisfaction[NOVEMBER]["average"] == 4
    assert {a.name for a in board.availability} == {"Telefonie", "Datacenter"}


def numbers_behind(client, url):
    """The ticket numbers a drill-down's page lists."""
    response = client.get(url)
    assert response.status_code == 200, url
    return set(NUMBER.findall(response.content.decode()))


def api_numbers(api, user, url):
    """The same filter asked of the API (TicketFilter is the API's filterset)."""
    params = [(k, v) for k, v in parse_qsl(urlsplit(url).query) if k != "status" or v != "open"]
    if not any(k == "status" for k, _v in params):
        params.append(("status", "open"))
    body = api(user).get("/api/v1/tickets/", params + [("page_size", 100)]).json()
    return {t["number"] for t in body["results"]}


def test_drill_downs_list_exactly_the_counted_tickets(month, users, client, api):
    director = users["director"]
    board = board_of(director)
    client.force_login(director)
    with freeze_time(NOW):
        assert numbers_behind(client, board.breached["url"]) == {month["d"].number}
        assert numbers_behind(client, board.at_risk["url"]) == {month["e"].number}
        p3 = row(board, 3, "restore")
        assert numbers_behind(client, p3["breached_url"]) == {month["c"].number}
        assert numbers_behind(client, p3["met_url"]) == {month[k].number for k in ("a", "b", "g")}
        # every figure: as many tickets as counted, the page and the API alike
        links = [(board.at_risk["url"], board.at_risk["count"])]
        for r in board.compliance:
            links += [
                (r["url"], r["count"]),
                (r["met_url"], r["met"]),
                (r["breached_url"], r["breached"]),
                (r["running_url"], r["running"]),
            ]
        links += [(t["tickets_url"], t["tickets"]) for t in board.trend]
        links += [(r["url"], r["count"]) for r in board.escalations["levels"]]
        links += [(p["url"], p["total"]) for p in board.workload["rows"]]
        for url, count in links:
            assert url.startswith(reverse("queue"))
            page = numbers_behind(client, url)
            assert len(page) == count, url
            assert api_numbers(api, director, url) == page, url


def test_authorised_contact_sees_only_their_organisation(month, users, client):
    contact = users["acme.contact"]
    board = board_of(contact)
    assert board.workload is None  # staff only
    assert {a.organization_name for a in board.availability} == {"Acme Zorg"}
    assert row(board, 3, "response")["count"] == 4  # without globex's g
    # only the escalations their organisation raised: d's Middle, not its internal Low
    levels = {r["level"]: r["count"] for r in board.escalations["levels"]}
    assert sum(levels.values()) == 1
    client.force_login(contact)
    with freeze_time(NOW):
        page = client.get(reverse("dashboard"))
        assert page.status_code == 200
        html = page.content.decode()
        assert "Globex" not in html and "Datacenter" not in html
        level = next(r for r in board.escalations["levels"] if r["count"])
        assert level["url"].startswith(reverse("ticket-list"))
        assert level["level"] == "middle"
        assert numbers_behind(client, level["url"]) == {month["d"].number}
        breached = numbers_behind(client, row(board, 3, "response")["breached_url"])
        assert breached == {month["c"].number}
        # another organisation: not found, on the page and through the ticket list
        other = client.get(reverse("dashboard"), {"organization": month["g"].organization_id})
        assert other.status_code == 404
        assert month["g"].number not in numbers_behind(
            client, reverse("ticket-list") + "?status=all&reported=2026-11"
        )


@pytest.mark.parametrize("who, status", [("acme.user", 403), ("globex.user", 403)])
def test_ordinary_customers_are_refused(month, users, client, who, status):
    client.force_login(users[who])
    assert client.get(reverse("dashboard")).status_code == status
    assert client.get(reverse("dashboard-wallboard")).status_code == status


def test_anonymous_goes_to_the_login(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize(
    "query",
    [
        {"month": "abc"},
        {"month": "0001-01"},
        {"month": "9999-12"},
        {"month": "x" * 5000},
        {"organization": "1e300"},
        {"organization": str(10**30)},
        {"organization": "-1"},
    ],
)
def test_hostile_filters_answer_400_with_the_reason(month, users, client, query):
    client.force_login(users["director"])
    response = client.get(reverse("dashboard"), query)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [{"reported": "2026-13"}, {"target": "nope"}, {"outcome": "<script>"}, {"escalation": "x"}],
)
def test_hostile_drill_downs_answer_400_on_both_lists(month, users, client, query):
    client.force_login(users["director"])
    response = client.get(reverse("queue"), query)
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    client.force_login(users["acme.contact"])
    response = client.get(reverse("ticket-list"), query)
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()


def test_page_wallboard_and_organisation_filter(month, users, client):
    client.force_login(users["director"])
    with freeze_time(NOW):
        page = client.get(reverse("dashboard"), {"month": "2026-11"}).content.decode()
        assert "<svg" in page and "Acme Zorg" in page and "Globex Logistics" in page
        assert month["d"].number in page  # the breached P1, linked
        one = client.get(
            reverse("dashboard"), {"month": "2026-11", "organization": month["g"].organization_id}
        ).content.decode()
        assert "Telefonie" not in one and "Datacenter" in one
        wall = client.get(reverse("dashboard"), {"wallboard": "1"})
        assert wall.status_code == 200
        html = wall.content.decode()
        assert 'hx-trigger="every 60s"' in html and "pim-nav" not in html
        assert 'http-equiv="refresh"' not in html  # axe: a timed refresh is a critical failure
        assert client.get(reverse("dashboard-wallboard")).status_code == 200


def test_page_in_dutch(month, users, client):
    users["director"].language = "nl"
    users["director"].save()
    client.force_login(users["director"])
    with freeze_time(NOW):
        html = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Twaalf maanden" in html and "Werkvoorraad" in html


def test_constant_queries_whatever_the_number_of_tickets(
    month, users, client, django_assert_max_num_queries
):
    client.force_login(users["director"])
    with freeze_time(NOW), django_assert_max_num_queries(30) as before:
        client.get(reverse("dashboard"))
    for n in range(6):
        incident(users, "globex.user", at(2026, 11, 5 + n, 9), 2, 10, 10)
        incident(users, "acme.user", at(2026, 11, 5 + n, 9), 4)
    with freeze_time(NOW), django_assert_max_num_queries(len(before.captured_queries)):
        client.get(reverse("dashboard"))
    with freeze_time(NOW), django_assert_max_num_queries(18):
        figures(users["director"], NOVEMBER)
