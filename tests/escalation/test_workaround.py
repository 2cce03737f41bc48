"""Workaround, then the definitive fix (issue 12 item 8, SPEC §4): a workaround stops the
restore clock and leaves the ticket open; the resolution clock runs on, escalates as usual, and
stops at the definitive fix."""

import pytest
from django.urls import reverse
from freezegun import freeze_time

from escalation.models import Escalation
from sla.models import Clock, ClockEvent
from sla.sweep import sweep
from tickets import services
from tickets.models import AuditEntry, TicketUpdate

from .conftest import at

pytestmark = pytest.mark.django_db

DEFINITIVE = {"resolution_type": "definitive", "resolution_cause": "PSU", "resolution_how": "New"}


def url(ticket, action):
    return f"/api/v1/tickets/{ticket.pk}/{action}/"


def clocks(ticket):
    return {c.target: c for c in Clock.objects.filter(ticket=ticket)}


@pytest.fixture
def taken(file_ticket, users):
    """Globex (24/7) P2 at 10:00, taken at 10:10: restore due 16:10, resolution 02:10."""
    ticket = file_ticket(priority=2, when=at(2026, 11, 25, 10, 0))
    with freeze_time(at(2026, 11, 25, 10, 10)):
        services.take(ticket, users["agent"])
    return ticket


def test_workaround_then_the_definitive_fix(taken, users, api, client):
    ticket = taken
    with freeze_time(at(2026, 11, 25, 12, 0)):
        response = api(users["agent"]).post(
            url(ticket, "workaround"),
            {"text": "Calls are routed over the backup line.", "status": "waiting_for_supplier"},
            format="json",
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "waiting_for_supplier"  # open: the definitive fix is awaited
    assert body["workaround_text"] == "Calls are routed over the backup line."
    assert ClockEvent.objects.filter(ticket=ticket, kind="workaround").count() == 1
    assert AuditEntry.objects.filter(ticket=ticket, action="workaround").count() == 1
    restore, resolution = clocks(ticket)["restore"], clocks(ticket)["resolution"]
    assert restore.state == "met" and restore.stopped_at == at(2026, 11, 25, 12, 0)
    assert resolution.stopped_at is None and resolution.due_at == at(2026, 11, 26, 2, 10)
    # The customer is told through the normal path (a public update) and sees the banner.
    update = TicketUpdate.objects.get(ticket=ticket)
    assert update.is_public and update.body == "Calls are routed over the backup line."
    client.force_login(users["globex.user"])
    page = client.get(reverse("ticket-detail", args=[ticket.number])).text
    assert "Workaround in place since 25-11-2026 12:00" in page
    assert "Calls are routed over the backup line." in page

    with freeze_time(at(2026, 11, 25, 20, 0)):
        response = api(users["agent"]).post(
            url(ticket, "transition"), {"status": "resolved", **DEFINITIVE}, format="json"
        )
    assert response.status_code == 200, response.content
    resolution = clocks(ticket)["resolution"]
    assert resolution.state == "met" and resolution.stopped_at == at(2026, 11, 25, 20, 0)
    assert clocks(ticket)["restore"].stopped_at == at(2026, 11, 25, 12, 0)  # unchanged
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and not ticket.workaround_in_place


def test_a_breached_resolution_clock_escalates_while_the_workaround_is_in_place(taken, users):
    ticket = taken
    with freeze_time(at(2026, 11, 25, 12, 0)):
        services.record_workaround(ticket, users["agent"], "Backup line", "planned_internal")
    with freeze_time(at(2026, 11, 26, 2, 11)):
        sweep()
    ticket.refresh_from_db()
    assert ticket.status == "planned_internal" and ticket.workaround_in_place
    assert clocks(ticket)["resolution"].state == "breached"
    # The restore clock stopped at the workaround, before its at-risk moment (14:40).
    assert list(Escalation.objects.filter(ticket=ticket).values_list("trigger", "level")) == [
        ("resolution-breached", "very_high")
    ]


def test_resolving_with_a_workaround_is_refused_with_a_pointer(taken, users, api):
    response = api(users["agent"]).post(
        url(taken, "transition"),
        {"status": "resolved", **DEFINITIVE, "resolution_type": "temporary"},
        format="json",
    )
    assert response.status_code == 400
    assert "workaround" in response.json()["resolution_type"][0]
    taken.refresh_from_db()
    assert taken.status == "planned_internal"


def test_workaround_refusals(taken, users, api):
    agent = api(users["agent"])
    customer = api(users["globex.user"])
    good = {"text": "Backup line", "status": "planned_internal"}
    assert customer.post(url(taken, "workaround"), good, format="json").status_code == 403
    assert api(users["acme.contact"]).post(url(taken, "workaround"), good).status_code == 404
    for bad in ({"text": "x", "status": "resolved"}, {"text": " ", "status": "planned_internal"}):
        response = agent.post(url(taken, "workaround"), bad, format="json")
        assert response.status_code == 400, response.content
    assert agent.post(url(taken, "workaround"), good, format="json").status_code == 200
    again = agent.post(url(taken, "workaround"), good, format="json")
    assert again.status_code == 400 and "already" in str(again.json())
    agent.post(url(taken, "transition"), {"status": "resolved", **DEFINITIVE}, format="json")
    assert agent.post(url(taken, "workaround"), good, format="json").status_code == 409
