"""Customer escalation (portal + API), the manager list with acknowledge, the bell."""

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from escalation.models import Escalation, Notification
from tickets import services

from .conftest import at

RESOLUTION = {"resolution_type": "definitive", "resolution_cause": "Card", "resolution_how": "Swap"}

pytestmark = pytest.mark.django_db


def login(users, name):
    client = Client()
    client.force_login(users[name])
    return client


def test_authorised_contact_escalates_from_the_portal(file_ticket, users):
    ticket = file_ticket(reporter="globex.user", priority=3)
    client = login(users, "globex.contact")
    url = reverse("ticket-escalate", args=[ticket.number])
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": ""})
    assert response.status_code == 200 and not Escalation.objects.exists()
    response = client.post(url, {"reason": "Nobody called us back"})
    assert response.status_code == 302
    esc = Escalation.objects.get(ticket=ticket)
    assert (esc.level, esc.trigger, esc.raised_by) == ("low", "customer", users["globex.contact"])
    assert esc.reason == "Nobody called us back"
    # A second escalation goes one level up.
    client.post(url, {"reason": "Still nothing"})
    assert sorted(Escalation.objects.values_list("level", flat=True)) == ["low", "middle"]


def test_escalation_is_not_for_customer_users_or_other_organisations(file_ticket, users):
    ticket = file_ticket(reporter="globex.user", priority=3)
    url = reverse("ticket-escalate", args=[ticket.number])
    assert login(users, "globex.user").get(url).status_code == 404
    assert login(users, "acme.contact").get(url).status_code == 404
    assert login(users, "acme.contact").post(url, {"reason": "x"}).status_code == 404
    assert not Escalation.objects.exists()


def test_api_escalate(file_ticket, users, api):
    ticket = file_ticket(reporter="globex.user", priority=3)
    url = f"/api/v1/tickets/{ticket.pk}/escalate/"
    assert api(users["acme.contact"]).post(url, {"reason": "x"}).status_code == 404
    assert api(users["globex.user"]).post(url, {"reason": "x"}).status_code == 403
    assert api(users["globex.contact"]).post(url, {}).status_code == 400
    response = api(users["globex.contact"]).post(url, {"reason": "Too slow"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["level"] == "low" and response.json()["number"] == ticket.number
    listed = api(users["globex.contact"]).get("/api/v1/escalations/").json()
    assert [e["reason"] for e in listed["results"]] == ["Too slow"]
    assert api(users["acme.contact"]).get("/api/v1/escalations/").json()["count"] == 0


def test_api_acknowledge(file_ticket, users, api):
    ticket = file_ticket(priority=1)
    esc = Escalation.objects.get(ticket=ticket)
    url = "/api/v1/escalations/acknowledge/"
    assert api(users["director"]).post(url, {"escalation": esc.pk}).status_code == 403
    assert api(users["globex.contact"]).post(url, {"escalation": esc.pk}).status_code == 404
    response = api(users["agent"]).post(url, {"escalation": esc.pk})
    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == "agent"


def test_manager_page_lists_open_escalations_and_acknowledges(file_ticket, users):
    ticket = file_ticket(priority=1)
    client = login(users, "oncall")
    page = client.get(reverse("escalation-list"))
    assert page.status_code == 200 and ticket.number in page.text
    esc = Escalation.objects.get(ticket=ticket)
    response = client.post(reverse("escalation-acknowledge"), {"escalation": esc.pk}, follow=True)
    assert "acknowledged" in response.text
    esc.refresh_from_db()
    assert esc.acknowledged_by == users["oncall"]
    # Acknowledged, it stays on the list (still open) with who took it, until the ticket is
    # resolved or closed.
    assert "acknowledged by oncall" in client.get(reverse("escalation-list")).text
    with freeze_time(at(2026, 11, 25, 11, 0)):
        services.take(ticket, users["oncall"])
        services.transition(ticket, users["oncall"], "resolved", resolution=RESOLUTION)
    assert ticket.number not in client.get(reverse("escalation-list")).text
    assert ticket.number in client.get(reverse("escalation-list") + "?show=all").text
    assert login(users, "globex.contact").get(reverse("escalation-list")).status_code == 404


def test_bell_counts_unread_and_the_list_marks_read(file_ticket, users):
    file_ticket(priority=3)
    client = login(users, "globex.user")
    home = client.get(reverse("ticket-list")).text
    assert reverse("notification-list") in home
    assert "1 unread notification" in home
    page = client.get(reverse("notification-list"))
    assert "INC-" in page.text
    client.post(reverse("notifications-read"))
    assert not Notification.objects.filter(
        recipient=users["globex.user"], channel="in_app", read_at__isnull=True
    ).exists()
    assert "unread notification" not in client.get(reverse("ticket-list")).text


def test_opening_a_notification_marks_it_read_and_leads_to_its_ticket(file_ticket, users):
    ticket = file_ticket(priority=3)
    client = login(users, "globex.user")
    receipt = Notification.objects.get(recipient=users["globex.user"], channel="in_app")
    assert f'href="/notifications/{receipt.pk}/"' in client.get(reverse("notification-list")).text
    opened = client.get(reverse("notification-open", args=[receipt.pk]))
    assert opened.status_code == 302 and opened["Location"] == ticket.get_absolute_url()
    receipt.refresh_from_db()
    assert receipt.read_at is not None
    assert "unread notification" not in client.get(reverse("ticket-list")).text
    assert client.post(reverse("notification-open", args=[receipt.pk])).status_code == 405


def test_ticket_page_shows_escalations_and_the_escalate_link(users, make_ticket, client):
    from django.urls import reverse

    from escalation import services as escalation_services

    ticket = make_ticket("acme.user")
    url = reverse("ticket-detail", args=[ticket.number])
    client.force_login(users["acme.contact"])
    page = client.get(url).content.decode()
    assert reverse("ticket-escalate", args=[ticket.number]) in page
    escalation_services.escalate_by_customer(ticket, users["acme.contact"], "Nobody calls back")
    page = client.get(url).content.decode()
    assert "Nobody calls back" in page
    client.force_login(users["acme.user"])  # a customer user sees it, but may not escalate
    page = client.get(url).content.decode()
    assert "Nobody calls back" in page
    assert reverse("ticket-escalate", args=[ticket.number]) not in page
