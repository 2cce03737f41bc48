"""Watchers (CC), withdrawal and the satisfaction rating (issue 12 items 2 and 11)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from escalation.models import Notification
from intake.services import ingest
from pim.models import Role
from tests.conftest import make_user
from tickets import participation, services
from tickets.models import AuditEntry, SatisfactionRating, Status, Ticket, TicketWatcher

pytestmark = pytest.mark.django_db

RESOLUTION = {
    "resolution_type": "definitive",
    "resolution_cause": "A failed power supply.",
    "resolution_how": "Replaced it.",
}


def api_url(ticket, action):
    return f"/api/v1/tickets/{ticket.pk}/{action}/"


# --- watchers -------------------------------------------------------------------------------


def test_reporter_adds_a_colleague_who_then_sees_the_ticket(users, file_ticket, client):
    ticket = file_ticket(reporter="acme.user", priority=3)
    colleague = users["acme.user2"]
    assert not Ticket.objects.visible_to(colleague).filter(pk=ticket.pk).exists()
    client.force_login(colleague)
    assert client.get(ticket.get_absolute_url()).status_code == 404

    client.force_login(users["acme.user"])
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert 'id="ticket-watchers"' in page
    response = client.post(
        reverse("ticket-watcher-add", args=[ticket.number]), {"user": colleague.pk}
    )
    assert response.status_code == 302
    assert AuditEntry.objects.filter(ticket=ticket, action="watcher_added").exists()

    client.force_login(colleague)
    assert client.get(ticket.get_absolute_url()).status_code == 200
    assert ticket.number in client.get(reverse("ticket-list")).content.decode()
    assert api_get(client, f"/api/v1/tickets/{ticket.pk}/").status_code == 200

    # the watcher takes themselves off: the ticket is gone again
    response = client.post(
        reverse("ticket-watcher-remove", args=[ticket.number]), {"user": colleague.pk}
    )
    assert response.status_code == 302
    assert client.get(ticket.get_absolute_url()).status_code == 404


def api_get(client, url):
    return client.get(url, HTTP_ACCEPT="application/json")


def test_watchers_api_and_who_may_add(users, file_ticket, api, acme):
    ticket = file_ticket(reporter="acme.user", priority=3)
    contact = api(users["acme.contact"])
    response = contact.post(api_url(ticket, "watchers"), {"user": "acme.user2"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["user"] == "acme.user2"
    assert [w["user"] for w in contact.get(api_url(ticket, "watchers")).json()] == ["acme.user2"]
    # a colleague of another organisation: refused without saying who exists
    response = contact.post(api_url(ticket, "watchers"), {"user": "globex.user"}, format="json")
    assert response.status_code == 400
    # a watcher who is no reporter and no contact may not add others
    third = make_user("acme.user3", Role.CUSTOMER_USER, acme)
    response = api(users["acme.user2"]).post(
        api_url(ticket, "watchers"), {"user": third.username}, format="json"
    )
    assert response.status_code == 403
    # agents add watchers on tickets registered by phone or e-mail only
    with pytest.raises(PermissionDenied):
        participation.add_watcher(ticket, users["agent"], third)
    phoned = file_ticket(reporter="agent", organization=acme, channel="phone", priority=3)
    assert participation.add_watcher(phoned, users["agent"], third)[1] is True
    # removal through the API
    response = contact.post(
        api_url(ticket, "watchers/remove"), {"user": "acme.user2"}, format="json"
    )
    assert response.status_code == 204
    assert not TicketWatcher.objects.filter(ticket=ticket).exists()


def test_a_forged_cross_tenant_watch_reveals_nothing(users, file_ticket, client):
    """visible_to ANDs the organisation: even a watcher row across tenants shows nothing."""
    ticket = file_ticket(reporter="globex.user", priority=3)
    TicketWatcher.objects.create(
        ticket=ticket, user=users["acme.user"], added_at=ticket.reported_at
    )
    assert not Ticket.objects.visible_to(users["acme.user"]).filter(pk=ticket.pk).exists()
    with pytest.raises(ValidationError):
        participation.add_watcher(ticket, users["globex.user"], users["acme.user2"])


def test_email_cc_of_known_colleagues_become_watchers(users, contracts):
    users["acme.user2"].email = "Acme.User2@Example.com"
    users["acme.user2"].save()
    raw = (
        b"From: acme.user@example.com\r\n"
        b"To: servicedesk@pim.local\r\n"
        b"Cc: acme.user2@example.com, globex.user@example.com, stranger@example.org\r\n"
        b"Subject: Printer on fire\r\n"
        b"Message-ID: <cc-test@example.com>\r\n\r\n"
        b"The printer on the 2nd floor is on fire.\r\n"
    )
    message = ingest(raw)
    assert message.ticket is not None
    watchers = set(
        TicketWatcher.objects.filter(ticket=message.ticket).values_list("user__username", flat=True)
    )
    assert watchers == {"acme.user2"}  # another organisation's user and strangers are ignored


# --- withdrawal -----------------------------------------------------------------------------


def test_reporter_withdraws_before_work_started(users, file_ticket, client):
    ticket = file_ticket(reporter="acme.user", priority=3)
    assert ticket.next_due_at is not None
    client.force_login(users["acme.user"])
    assert 'id="ticket-withdraw"' in client.get(ticket.get_absolute_url()).content.decode()
    response = client.post(
        reverse("ticket-withdraw", args=[ticket.number]), {"reason": "Solved itself."}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert ticket.next_due_at is None  # clocks stopped
    entry = AuditEntry.objects.get(ticket=ticket, action="withdrawn")
    assert entry.actor == users["acme.user"] and entry.changes["reason"] == "Solved itself."
    # the agents are told (no assignee yet: every agent), by e-mail and in the portal
    told = Notification.objects.filter(ticket=ticket, recipient=users["agent"])
    assert sorted(told.values_list("channel", flat=True)) == ["email", "in_app"]
    # nobody is asked to rate a withdrawn ticket
    assert not Notification.objects.filter(ticket=ticket, trigger__startswith="rating:").exists()


def test_withdrawal_is_refused_once_work_started_or_for_others(users, file_ticket, api):
    ticket = file_ticket(reporter="acme.user", priority=3)
    response = api(users["acme.contact"]).post(api_url(ticket, "withdraw"), {}, format="json")
    assert response.status_code == 403
    services.take(ticket, users["agent"])
    response = api(users["acme.user"]).post(api_url(ticket, "withdraw"), {}, format="json")
    assert response.status_code in (400, 409)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.PLANNED_INTERNAL
    fresh = file_ticket(reporter="acme.user", priority=3)
    response = api(users["acme.user"]).post(
        api_url(fresh, "withdraw"), {"reason": "Duplicate."}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "closed"


# --- satisfaction ---------------------------------------------------------------------------


def closed_ticket(users, file_ticket):
    ticket = file_ticket(reporter="acme.user", priority=3)
    services.take(ticket, users["agent"])
    services.transition(ticket, users["agent"], Status.RESOLVED, resolution=RESOLUTION)
    return services.confirm_resolution(ticket, users["acme.user"])


def test_reporter_rates_a_closed_ticket_once(users, file_ticket, client, api):
    ticket = closed_ticket(users, file_ticket)
    client.force_login(users["acme.user"])
    page = client.get(reverse("ticket-rating", args=[ticket.number]) + "?score=4")
    assert page.status_code == 200 and 'id="rating"' in page.content.decode()
    assert not SatisfactionRating.objects.exists()  # following the link rates nothing
    response = client.post(
        reverse("ticket-rating", args=[ticket.number]), {"score": "4", "comment": "Quick."}
    )
    assert response.status_code == 302
    rating = SatisfactionRating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment, rating.agent) == (4, "Quick.", users["agent"])
    assert "4 out of 5" in client.get(ticket.get_absolute_url()).content.decode()
    # once: a second rating is refused, page and API alike
    response = api(users["acme.user"]).post(api_url(ticket, "rating"), {"score": 1}, format="json")
    assert response.status_code == 400
    assert SatisfactionRating.objects.get(ticket=ticket).score == 4
    # only the reporter rates
    other = closed_ticket(users, file_ticket)
    response = api(users["acme.contact"]).post(
        api_url(other, "rating"), {"score": 5}, format="json"
    )
    assert response.status_code == 403
    assert api(users["acme.user"]).get(api_url(other, "rating")).json()["score"] is None
    for score in (9, None, "x"):
        response = api(users["acme.user"]).post(
            api_url(other, "rating"), {"score": score}, format="json"
        )
        assert response.status_code == 400, score
    assert not SatisfactionRating.objects.filter(ticket=other).exists()


def test_managers_read_the_ratings(users, file_ticket, client, api):
    ticket = closed_ticket(users, file_ticket)
    participation.rate(ticket, users["acme.user"], 5, "Great")
    response = api(users["director"]).get("/api/v1/satisfaction/")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert (row["ticket"], row["score"], row["agent"]) == (ticket.number, 5, "agent")
    assert api(users["acme.contact"]).get("/api/v1/satisfaction/").status_code == 403
    client.force_login(users["director"])
    page = client.get(reverse("sla-compliance") + "?since=2020-01-01")
    assert 'id="satisfaction"' in page.content.decode()
