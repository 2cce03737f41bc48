"""The SLA on the pages and in the API: same clocks, countdowns, forms for agents."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from sla.models import Clock
from tickets import services

AMS = ZoneInfo("Europe/Amsterdam")
pytestmark = pytest.mark.django_db


def at(*a):
    return datetime(*a, tzinfo=AMS)


def file(users, who="acme.user", priority=3, when=None, **kw):
    with freeze_time(when or at(2026, 11, 25, 9, 0)):
        return services.create_ticket(
            actor=users[who], title="Phones down", description="d", priority=priority, **kw
        )


def test_api_and_ticket_page_agree(contracts, users, client, api):
    ticket = file(users, priority=2)
    with freeze_time(at(2026, 11, 25, 9, 30)):
        body = api(users["acme.user"]).get(f"/api/v1/tickets/{ticket.pk}/").json()
        client.force_login(users["acme.user"])
        page = client.get(reverse("ticket-detail", args=[ticket.number])).content.decode()
    response = next(c for c in body["sla"] if c["target"] == "response")
    assert response == {
        "target": "response",
        "due_at": "2026-11-25T10:00:00+01:00",
        "paused": False,
        "state": "pending",
        "business_seconds_used": 30 * 60,
    }
    assert {c["target"] for c in body["sla"]} == {"response", "restore", "resolution"}
    # the customer sees the same due time on the page, and why
    assert "25-11-2026 10:00" in page
    assert "30 working min" in page


def test_paused_clock_in_api(contracts, users, api):
    ticket = file(users)
    with freeze_time(at(2026, 11, 25, 9, 30)):
        services.take(ticket, users["agent"])
        services.transition(ticket, users["agent"], "waiting_for_customer")
    with freeze_time(at(2026, 11, 25, 15, 0)):
        body = api(users["agent"]).get(f"/api/v1/tickets/{ticket.pk}/").json()
    restore = next(c for c in body["sla"] if c["target"] == "restore")
    assert restore["paused"] is True and restore["business_seconds_used"] == 0
    assert restore["due_at"] is None


def test_a_paused_clock_reads_paused_with_a_drawn_sign_on_the_pages(contracts, users, client):
    """The paused sign is two bars in CSS, hidden from screen readers: U+23F8 is missing from
    many desktops' fonts (a box in Chromium on Linux) and is a coloured emoji on phones."""
    ticket = file(users)
    with freeze_time(at(2026, 11, 25, 9, 30)):
        services.take(ticket, users["agent"])
        services.transition(ticket, users["agent"], "waiting_for_customer")
    client.force_login(users["agent"])
    mark = '<span class="pause-mark" aria-hidden="true"></span>'
    with freeze_time(at(2026, 11, 25, 15, 0)):
        for url in (reverse("queue"), reverse("ticket-detail", args=[ticket.number])):
            page = client.get(url, {"status": "all"}).content.decode()
            assert f"{mark}gepauzeerd" in page or f"{mark}paused" in page, url
            assert "\u23f8" not in page, url


def ticket_page_in_both_languages(client, user, ticket, moment):
    """The ticket's page as `user` sees it at `moment`, in Dutch and in English."""
    client.force_login(user)
    pages = []
    with freeze_time(moment):
        for language in ("nl", "en"):
            client.post(reverse("set-language"), {"language": language, "next": "/"})
            pages.append(
                client.get(reverse("ticket-detail", args=[ticket.number])).content.decode()
            )
    return pages


def test_a_stopped_clock_shows_when_it_stopped_not_an_empty_due_time(contracts, users, client):
    """A met response clock has no due time any more: the panel says when it stopped (the
    moment of response) instead of "Due: –"; the running clocks keep their due time."""
    ticket = file(users, priority=2)
    with freeze_time(at(2026, 11, 25, 9, 20)):
        services.take(ticket, users["agent"])
    page, english = ticket_page_in_both_languages(
        client, users["agent"], ticket, at(2026, 11, 25, 9, 30)
    )
    assert "Gestopt op: <strong>25-11-2026 09:20</strong>" in page
    assert "Stopped at: <strong>25-11-2026 09:20</strong>" in english
    assert "<strong>–</strong>" not in page and "<strong>–</strong>" not in english
    assert english.count("Due: <strong>") == 2  # restore and resolution run on


def test_a_paused_clock_shows_the_time_it_has_left_not_an_empty_due_time(contracts, users, client):
    """A paused clock has no due time until it runs again: the panel says how much working time
    it has left instead of "Due: –", under its paused badge alone (not "running" and "paused")."""
    ticket = file(users, priority=3)  # Acme: office hours
    with freeze_time(at(2026, 11, 25, 9, 20)):
        services.take(ticket, users["agent"])
    with freeze_time(at(2026, 11, 25, 10, 20)):
        services.transition(ticket, users["agent"], "waiting_for_customer")
    page, english = ticket_page_in_both_languages(
        client, users["agent"], ticket, at(2026, 11, 25, 15)
    )
    restore = Clock.objects.get(ticket=ticket, target="restore")
    assert restore.paused and restore.due_at is None and restore.used_seconds == 3600
    left = restore.target_seconds - 3600
    hours = f"{left // 3600} working hours" if left % 3600 == 0 else None
    assert "<strong>–</strong>" not in page and "<strong>–</strong>" not in english
    assert "Resterend: <strong>" in page and "zodra de klok weer loopt" in page
    assert f"Remaining: <strong>{hours}</strong>" in english
    assert "the due time follows when the clock runs again" in english
    # a paused clock is not also "running": the paused badge stands for its state
    panel = english[english.index('id="ticket-sla"') :]
    assert 'class="badge sla-pending"' not in panel
    assert panel.count("paused</span>") == 2  # restore and resolution


def test_queue_countdown_sort_by_next_due_and_states(contracts, users, client):
    late = file(users, priority=1, when=at(2026, 11, 25, 8, 0))  # response due 08:30
    soon = file(users, priority=3, when=at(2026, 11, 25, 9, 0))  # due 11:00
    later = file(users, priority=4, when=at(2026, 11, 25, 9, 0))  # due 15:00
    client.force_login(users["agent"])
    with freeze_time(at(2026, 11, 25, 10, 45)):
        page = client.get(reverse("queue"), {"sort": "next_due", "dir": "asc"}).content.decode()
    order = [page.index(t.number) for t in (late, soon, later)]
    assert order == sorted(order)
    assert "sla-breached" in page and "sla-at_risk" in page and "sla-pending" in page
    with freeze_time(at(2026, 11, 25, 10, 45)):
        page = client.get(reverse("queue"), {"sort": "next_due", "dir": "desc"}).content.decode()
    assert page.index(later.number) < page.index(late.number)


def test_queue_default_is_urgency_first_and_its_controls_say_so(contracts, users, client):
    """Without a sort chosen, the most urgent work leads: the breached P1 filed first (the
    newest-first order put it last), then the soonest deadline; the form shows that sort."""
    late = file(users, priority=1, when=at(2026, 11, 25, 8, 0))  # response due 08:30: breached
    soon = file(users, priority=3, when=at(2026, 11, 25, 9, 0))  # due 11:00
    later = file(users, priority=4, when=at(2026, 11, 25, 9, 30))  # due 15:30, the newest
    client.force_login(users["agent"])
    with freeze_time(at(2026, 11, 25, 10, 45)):
        response = client.get(reverse("queue"))
    assert [t.number for t in response.context["page"]] == [
        late.number,
        soon.number,
        later.number,
    ]
    form = response.context["form"]
    assert (form["sort"].value(), form["dir"].value()) == ("next_due", "asc")
    page = response.content.decode()
    assert re.search(r'<option value="next_due"[^>]*selected', page)
    assert re.search(r'<option value="asc"[^>]*selected', page)
    # choosing the deadline sort without a direction is the soonest first as well
    with freeze_time(at(2026, 11, 25, 10, 45)):
        chosen = client.get(reverse("queue"), {"sort": "next_due"})
    assert [t.number for t in chosen.context["page"]][0] == late.number


def test_queue_queries_constant_with_clocks(contracts, users, client):
    client.force_login(users["agent"])
    for _ in range(5):
        file(users)
    with CaptureQueriesContext(connection) as five:
        client.get(reverse("queue"), {"sort": "next_due"})
    for _ in range(20):
        file(users)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("queue"), {"sort": "next_due"})
    assert len(five) == len(many)


def test_agent_records_no_access_and_not_applicable(contracts, users, client):
    ticket = file(users)
    with freeze_time(at(2026, 11, 25, 9, 0)):
        services.take(ticket, users["agent"])
    url = reverse("ticket-no-access", args=[ticket.number])
    with freeze_time(at(2026, 11, 25, 14, 0)):
        client.force_login(users["agent"])
        bad = client.post(url, {"start_at": "2026-11-25T11:00", "end_at": "2026-11-25T10:00"})
        assert bad.status_code == 400 and "after the start" in bad.content.decode()
        ok = client.post(url, {"start_at": "2026-11-25T10:00", "end_at": "2026-11-25T11:00"})
        assert ok.status_code == 302
    assert Clock.objects.get(ticket=ticket, target="restore").due_at == at(2026, 11, 26, 9, 0)
    na = reverse("ticket-sla-na", args=[ticket.number])
    client.force_login(users["agent"])  # the session above was made at the frozen time
    assert client.post(na, {"reason": ""}).status_code == 400
    assert client.post(na, {"reason": "Outside the agreed scope"}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.sla_not_applicable and ticket.sla_not_applicable_reason
    # customers cannot use these forms
    with freeze_time(at(2026, 11, 25, 14, 10)):
        client.force_login(users["acme.user"])
        refused = client.post(url, {"start_at": "2026-11-25T12:00", "end_at": "2026-11-25T13:00"})
        assert refused.status_code in (302, 403, 404)
        assert reverse("login") not in refused.get("Location", "")
    assert Clock.objects.get(ticket=ticket, target="restore").due_at == at(2026, 11, 26, 9, 0)


def test_api_sla_state_filter(contracts, users, api):
    breached = file(users, priority=1, when=at(2026, 11, 25, 8, 0))
    file(users, priority=4, when=at(2026, 11, 25, 9, 0))
    with freeze_time(at(2026, 11, 25, 9, 0)):
        body = api(users["agent"]).get("/api/v1/tickets/", {"sla_state": "breached"}).json()
    assert [t["number"] for t in body["results"]] == [breached.number]
    assert api(users["agent"]).get("/api/v1/tickets/", {"sla_state": "bogus"}).status_code == 400


def test_api_no_access_and_not_applicable(contracts, users, api):
    ticket = file(users)
    with freeze_time(at(2026, 11, 25, 9, 0)):
        services.take(ticket, users["agent"])
    url = f"/api/v1/tickets/{ticket.pk}/"
    with freeze_time(at(2026, 11, 25, 14, 0)):
        agent = api(users["agent"])
        customer = api(users["acme.user"])
        body = {"start_at": "2026-11-25T10:00:00+01:00", "end_at": "2026-11-25T11:00:00+01:00"}
        assert customer.post(url + "no-access/", body, format="json").status_code == 403
        bad = {**body, "end_at": "2026-11-25T09:00:00+01:00"}
        assert agent.post(url + "no-access/", bad, format="json").status_code == 400
        ok = agent.post(url + "no-access/", body, format="json")
        assert ok.status_code == 200
        restore = next(c for c in ok.json()["sla"] if c["target"] == "restore")
        assert restore["due_at"] == "2026-11-26T09:00:00+01:00"
        assert agent.post(url + "sla-not-applicable/", {}, format="json").status_code == 400
        done = agent.post(url + "sla-not-applicable/", {"reason": "No access given"}, format="json")
        assert done.status_code == 200 and done.json()["sla_not_applicable"] is True
