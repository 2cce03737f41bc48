"""The agent queue's views, counts, columns and bulk actions (issue 15)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from freezegun import freeze_time

from tests.sla.conftest import contracts, policy  # noqa: F401 - fixtures
from tickets import queue_views, services
from tickets.models import QueueView

AMS = ZoneInfo("Europe/Amsterdam")
pytestmark = pytest.mark.django_db


def at(*a):
    return datetime(*a, tzinfo=AMS)


@pytest.fixture
def login(client, users):
    def _login(username):
        client.force_login(users[username])
        return client

    return _login


def file(users, who="acme.user", priority=3, when=None, **kw):
    with freeze_time(when or at(2026, 11, 25, 9, 0)):
        return services.create_ticket(
            actor=users[who], title=kw.pop("title", "Phones down"), description="d",
            priority=priority, **kw,
        )  # fmt: skip


def numbers(response):
    return [t.number for t in response.context["page"]]


def counts(response):
    return {v.name: (v.count, v.exact) for v in response.context["views"]}


@pytest.fixture
def queue_world(contracts, users):  # noqa: F811 - the fixture imported above
    """At 10:45: a breached unassigned P1, an unassigned P2 (due later), the agent's own P3,
    one waiting for the customer (the agent's), and a resolved one."""
    agent = users["agent"]
    t = {
        "p1": file(users, priority=1, when=at(2026, 11, 25, 8, 0)),  # response due 08:30
        "p2": file(users, "globex.user", priority=2, when=at(2026, 11, 25, 10, 0)),
        "mine": file(users, priority=3),
        "waiting": file(users, priority=4),
        "done": file(users, priority=3),
    }
    with freeze_time(at(2026, 11, 25, 9, 10)):
        services.take(t["mine"], agent)
        services.take(t["waiting"], agent)
        services.transition(t["waiting"], agent, "waiting_for_customer")
        services.take(t["done"], agent)
        services.transition(
            t["done"], agent, "resolved",
            resolution={"resolution_type": "definitive", "resolution_cause": "c",
                        "resolution_how": "h"},
        )  # fmt: skip
    return t


def test_shared_views_open_their_filters_with_counts(login, queue_world):
    t = queue_world
    client = login("agent")
    with freeze_time(at(2026, 11, 25, 10, 45)):
        response = client.get(reverse("queue"))
    assert counts(response) == {
        "All open": (4, True),
        "My open": (2, True),
        "Breached": (1, True),
        "Unassigned P1/P2": (2, True),
        "Waiting on us": (3, True),
    }
    # each view is a link to the queue with its filters; following it shows the counted rows
    expected = {
        "My open": {t["mine"].number, t["waiting"].number},
        "Breached": {t["p1"].number},
        "Unassigned P1/P2": {t["p1"].number, t["p2"].number},
        "Waiting on us": {t["p1"].number, t["p2"].number, t["mine"].number},
    }
    for view in response.context["views"]:
        if view.name not in expected:
            continue
        with freeze_time(at(2026, 11, 25, 10, 45)):
            opened = client.get(f"{reverse('queue')}?{view.query}")
        assert set(numbers(opened)) == expected[view.name], view.name
        active = [v.name for v in opened.context["views"] if v.active]
        assert active == [view.name]
        # urgency first inside a view too: the breached P1 leads
        if t["p1"].number in expected[view.name]:
            assert numbers(opened)[0] == t["p1"].number


def test_view_names_follow_the_readers_language(login, users, queue_world):
    users["agent"].language = "nl"
    users["agent"].save()
    body = login("agent").get(reverse("queue")).text
    for name in ("Mijn open", "Overschreden", "Niet toegewezen P1/P2", "Wacht op ons"):
        assert name in body


def test_counts_take_one_query_whatever_the_number_of_views(
    login, users, queue_world, django_assert_max_num_queries
):
    agent = users["agent"]
    client = login("agent")
    client.get(reverse("queue"))  # warm up: session, user, scope
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("queue"))
    for i in range(15):
        queue_views.save_view(agent, f"View {i}", f"priority={i % 4 + 1}&organization=1")
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        response = client.get(reverse("queue"))
    assert len(response.context["views"]) == 5 + 15
    counted = [q["sql"] for q in many.captured_queries if "AS view_" in q["sql"]]
    assert len(counted) == 1  # every view's count in one statement
    assert counted[0].count("SELECT COUNT(*)") == 20


def test_counts_are_bounded(login, users, queue_world, settings):
    """Past the bound a view shows "N+" (bounded counts stay cheap at a million tickets)."""
    response = login("agent").get(reverse("queue"))
    request = response.wsgi_request
    views = queue_views.views_for(users["agent"])
    with freeze_time(at(2026, 11, 25, 10, 45)):
        queue_views.count_views(request, views, bound=1)
    assert [(v.count, v.exact) for v in views][:3] == [(1, False), (1, False), (1, True)]


def test_an_agent_saves_and_deletes_own_views(login, users, queue_world):
    client = login("agent")
    response = client.post(
        reverse("queue-view-save"),
        {"name": "Globex P2", "query": "priority=2&organization=999&page=3&bogus=1"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('queue')}?priority=2&organization=999"
    view = QueueView.objects.get(owner=users["agent"])
    assert (view.name, view.query) == ("Globex P2", "priority=2&organization=999")
    # saving under the same name replaces the filters
    client.post(reverse("queue-view-save"), {"name": "Globex P2", "query": "priority=2"})
    view.refresh_from_db()
    assert view.query == "priority=2"
    body = client.get(reverse("queue")).text
    assert "Globex P2" in body
    counted = {v.name: v.count for v in client.get(reverse("queue")).context["views"]}
    assert counted["Globex P2"] == 1
    # a name is required
    client.post(reverse("queue-view-save"), {"name": "  ", "query": "priority=1"})
    assert QueueView.objects.count() == 1
    client.post(reverse("queue-view-delete"), {"view": view.pk})
    assert not QueueView.objects.exists()


def test_own_views_are_private(login, users, queue_world):
    mine = QueueView.objects.create(owner=users["agent"], name="Agent secret", query="priority=1")
    other = login("oncall")
    assert "Agent secret" not in other.get(reverse("queue")).text
    assert other.post(reverse("queue-view-delete"), {"view": mine.pk}).status_code == 404
    assert other.post(reverse("queue-view-delete"), {"view": "x"}).status_code == 404
    assert QueueView.objects.filter(pk=mine.pk).exists()
    # customers have no queue, nor its views
    customer = login("acme.contact")
    assert customer.post(reverse("queue-view-save"), {"name": "x"}).status_code == 404
    assert customer.post(reverse("queue-view-delete"), {"view": mine.pk}).status_code == 404
    assert QueueView.objects.filter(pk=mine.pk).exists()


def test_column_choice_is_kept_per_user(login, users, queue_world):
    client = login("agent")
    before = client.get(reverse("queue")).text
    assert "<th>Organisation</th>" in before and "<th>Kind</th>" not in before
    response = client.post(
        reverse("queue-columns"),
        {"columns": ["kind", "priority", "next_due", "nonsense"], "query": "priority=1"},
    )
    assert response["Location"] == f"{reverse('queue')}?priority=1"
    body = client.get(reverse("queue")).text
    assert "<th>Kind</th>" in body and "<th>Organisation</th>" not in body
    assert queue_views.columns_for(users["agent"]) == ["priority", "kind", "next_due"]
    # another agent keeps the default
    assert "<th>Organisation</th>" in login("oncall").get(reverse("queue")).text


def test_htmx_refresh_brings_the_rows_and_the_counts(login, queue_world):
    response = login("agent").get(reverse("queue"), headers={"HX-Request": "true"})
    body = response.text
    assert "<html" not in body
    assert 'id="queue-results"' in body
    assert 'id="queue-views"' in body and 'hx-swap-oob="true"' in body


# --- bulk actions ---------------------------------------------------------------------------


def bulk(client, tickets, **data):
    response = client.post(
        reverse("queue-bulk"),
        {"tickets": [t if isinstance(t, str) else t.number for t in tickets], **data},
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def test_bulk_status_change_reports_what_was_refused_and_why(login, users, queue_world):
    t = queue_world
    client = login("agent")
    said = bulk(
        client,
        [t["p1"], t["waiting"], t["done"]],
        action="status",
        status="waiting_for_supplier",
        reason="The carrier is on it.",
        query="priority=1",
    )
    assert said == [
        f"2 updated, 1 refused: {t['done'].number} — A ticket cannot go from “Resolved” to "
        "“Waiting for supplier”."
    ]
    for key in ("p1", "waiting"):
        t[key].refresh_from_db()
        assert t[key].status == "waiting_for_supplier"
        # through the single action's service: audited, the reason posted as the note
        assert t[key].audit_entries.filter(action="transition").exists()
        assert t[key].updates.filter(body="The carrier is on it.").exists()
    t["done"].refresh_from_db()
    assert t["done"].status == "resolved"


def test_bulk_priority_needs_one_reason_and_keeps_it_per_ticket(login, users, queue_world):
    t = queue_world
    client = login("agent")
    said = bulk(client, [t["p1"], t["p2"]], action="priority", priority="2")
    assert said == ["Say why the priority changes."]
    assert t["p1"].priority_changes.count() == 1  # only the registration
    said = bulk(client, [t["p1"], t["p2"]], action="priority", priority="2", reason="Less urgent")
    assert said == [
        f"1 updated, 1 refused: {t['p2'].number} — The ticket already has this priority."
    ]
    change = t["p1"].priority_changes.last()
    assert (change.old_priority, change.new_priority, change.reason) == (1, 2, "Less urgent")
    assert t["p1"].audit_entries.filter(action="priority").exists()


def test_bulk_take_and_assign(login, users, queue_world):
    t = queue_world
    client = login("agent")
    assert bulk(client, [t["p1"], t["p2"]], action="take") == ["2 updated"]
    for key in ("p1", "p2"):
        t[key].refresh_from_db()
        assert t[key].assignee == users["agent"] and t[key].status == "planned_internal"
        assert t[key].audit_entries.filter(action="taken").exists()
    oncall = users["oncall"]
    assert bulk(client, [t["p1"], t["mine"]], action="assign", assignee=oncall.pk) == ["2 updated"]
    t["mine"].refresh_from_db()
    assert t["mine"].assignee == oncall
    # assigning needs the person
    assert bulk(client, [t["p2"]], action="assign") == ["Choose who gets the tickets."]


def test_bulk_refuses_what_the_agent_cannot_see_or_do(login, users, queue_world):
    t = queue_world
    # a number outside the agent's queue is refused by name, the rest goes through
    said = bulk(login("agent"), [t["p1"], "INC-2026-99999"], action="take")
    assert said == ["1 updated, 1 refused: INC-2026-99999 — no such ticket in your queue"]
    # a manager reads the queue but does not work tickets: each refusal says why
    said = bulk(login("csm"), [t["p2"]], action="take")
    assert said[0].startswith(f"0 updated, 1 refused: {t['p2'].number} — ")
    t["p2"].refresh_from_db()
    assert t["p2"].assignee is None


def test_customers_have_no_bulk_actions(login, users, queue_world):
    """Another organisation's ticket through the bulk action: the route does not exist for a
    customer, and nothing changes."""
    t = queue_world
    client = login("acme.contact")
    response = client.post(reverse("queue-bulk"), {"tickets": [t["p2"].number], "action": "take"})
    assert response.status_code == 404
    t["p2"].refresh_from_db()
    assert t["p2"].assignee is None and t["p2"].status == "new"


def test_bulk_is_capped(login, users, queue_world):
    t = queue_world
    numbers = [t["p1"].number] + [f"INC-2026-9{i:04d}" for i in range(100)]
    said = bulk(login("agent"), numbers, action="take")
    assert said == ["Select at most 100 tickets at once."]
    t["p1"].refresh_from_db()
    assert t["p1"].assignee is None


def test_bulk_form_and_row_checkboxes_are_on_the_page_for_workers_only(login, queue_world):
    body = login("agent").get(reverse("queue")).text
    assert 'id="queue-bulk"' in body
    assert f'name="tickets" value="{queue_world["p1"].number}" form="queue-bulk"' in body
    body = login("csm").get(reverse("queue")).text
    assert 'id="queue-bulk"' not in body and 'name="tickets"' not in body


def test_bulk_summary_in_dutch(login, users, queue_world):
    users["agent"].language = "nl"
    users["agent"].save()
    said = bulk(login("agent"), [queue_world["p1"], "INC-2026-99999"], action="take")
    assert said == ["1 bijgewerkt, 1 geweigerd: INC-2026-99999 — geen ticket in uw wachtrij"]


def test_rows_carry_what_the_browser_needs_to_tick_and_refresh(login, users, queue_world):
    """Countdowns tick from each clock's due time (ISO) with the server's texts in the reader's
    language; the results refresh themselves from the URL they were rendered for."""
    import json
    import re
    from html import unescape

    users["agent"].language = "nl"
    users["agent"].save()
    with freeze_time(at(2026, 11, 25, 10, 45)):
        body = login("agent").get(reverse("queue"), {"priority": "1"}).text
    section = re.search(r'<section id="queue-results"[^>]*>', body).group(0)
    assert 'hx-trigger="every 30s"' in section
    assert 'hx-get="/queue/?priority=1"' in section
    texts = json.loads(unescape(re.search(r'data-countdown="([^"]*)"', section).group(1)))
    assert texts["in"] == "over %(left)s" and texts["hm"] == "%(h)d u %(m)02d min"
    # the breached P1's response clock: due 08:30 Amsterdam
    assert 'data-due="2026-11-25T08:30:00+01:00" data-state="breached"' in body


def test_a_view_stays_active_when_the_form_spells_out_the_defaults(login, queue_world):
    """The filter form sends every field (status=open, the default sort): still "My open"."""
    query = "status=open&assignee=mine&sort=next_due&dir=asc&priority=&search="
    response = login("agent").get(f"{reverse('queue')}?{query}")
    assert [v.name for v in response.context["views"] if v.active] == ["My open"]
    assert queue_views.normalise("sort=reported_at&dir=desc") == "sort=reported_at"
    assert queue_views.normalise("sort=next_due&dir=desc") == "sort=next_due&dir=desc"


@pytest.mark.parametrize(
    ("query", "folded"),
    [
        ("", True),  # the default queue: the rows come first
        ("assignee=mine", True),  # a view's pill says what is filtered
        ("kind=change", False),  # the agent's own filters stay in sight
        ("kind=nonsense", False),  # and so does an invalid value with its error
    ],
)
def test_the_filter_panel_folds_unless_the_agent_filters(login, query, folded):
    html = login("agent").get(f"{reverse('queue')}?{query}").text
    end = html.index('class="pim-filter-panel"')
    panel = html[html.rindex("<details", 0, end) : end]
    assert (" open " not in panel) is folded
