"""What customers are told (issue 12 item 1): every customer-facing event gives the reporter and
each watcher exactly one e-mail and one bell entry, in their language; internal updates give
nothing; preferences are respected (the receipt and waiting for customer always go out)."""

from collections import Counter

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from escalation import customer, delivery
from escalation.models import Notification, NotificationPreference
from pim.models import Role
from tests.conftest import make_user
from tickets import participation, services
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db

RESOLUTION = {
    "resolution_type": "definitive",
    "resolution_cause": "A failed power supply.",
    "resolution_how": "Replaced it.",
}


@pytest.fixture
def watched(users, file_ticket):
    """acme.user's P3 ticket (English), watched by acme.user2 (Dutch)."""
    users["acme.user2"].language = "nl"
    users["acme.user2"].save()
    ticket = file_ticket(reporter="acme.user", priority=3)
    participation.add_watcher(ticket, users["acme.user"], users["acme.user2"])
    return ticket


def rows(ticket, event):
    return Notification.objects.filter(ticket=ticket, trigger__startswith=f"{event}:")


def per_person(qs):
    return Counter((n.recipient.username, n.channel) for n in qs.select_related("recipient"))


BOTH = {
    ("acme.user", "email"): 1,
    ("acme.user", "in_app"): 1,
    ("acme.user2", "email"): 1,
    ("acme.user2", "in_app"): 1,
}
ONLY_WATCHER = {("acme.user2", "email"): 1, ("acme.user2", "in_app"): 1}


def send(qs):
    """Deliver the e-mail rows of `qs`; the messages by recipient."""
    mail.outbox.clear()
    for n in qs.filter(channel="email"):
        assert delivery.deliver(n.pk) is True
    return {m.to[0].split("@")[0]: m for m in mail.outbox}


def test_every_event_reaches_reporter_and_watcher_once_in_their_language(watched, users):
    ticket, agent = watched, users["agent"]
    customer_rows = Notification.objects.filter(ticket=ticket).exclude(trigger="receipt")
    customer_rows = customer_rows.filter(recipient__membership__role__in=["customer_user"])

    # a public update
    update = services.add_update(ticket, agent, "We are replacing the power supply.")
    assert per_person(rows(ticket, "update")) == BOTH
    sent = send(rows(ticket, "update"))
    assert sent["acme.user"].subject.startswith(f"Update on {ticket.number}")
    assert sent["acme.user2"].subject.startswith(f"Update over {ticket.number}")
    assert "We are replacing the power supply." in sent["acme.user2"].body
    # exactly once: the receiver running again writes nothing, a redelivery sends nothing
    assert sorted(customer.update_posted(ticket, update)) == sorted(
        rows(ticket, "update").values_list("pk", flat=True)
    )
    assert rows(ticket, "update").count() == 4
    assert not any(delivery.deliver(n.pk) for n in rows(ticket, "update"))

    # an internal update never leaves the building
    before = customer_rows.count()
    services.add_update(ticket, agent, "Supplier contract number 42", visibility="internal")
    assert customer_rows.count() == before
    assert not any("Supplier" in str(n.context) for n in customer_rows)

    # waiting for customer, with the question (told once: not again as an update)
    services.transition(ticket, agent, Status.WAITING_FOR_CUSTOMER, note="Which floor is it?")
    assert per_person(rows(ticket, "waiting")) == BOTH
    assert rows(ticket, "update").count() == 4
    sent = send(rows(ticket, "waiting"))
    assert "Which floor is it?" in sent["acme.user"].body
    assert sent["acme.user2"].subject.startswith("We hebben informatie van u nodig")

    # the reporter answers: the watcher hears the answer and the status, the reporter nothing
    services.add_update(ticket, users["acme.user"], "The second floor.")
    ticket.refresh_from_db()
    assert ticket.status == Status.RESPONSE_RECEIVED
    answer = rows(ticket, "update").filter(context__body="The second floor.")
    assert per_person(answer) == ONLY_WATCHER

    # a priority change with its reason and the new due times
    services.change_priority(ticket, agent, 2, "More colleagues are affected.")
    assert per_person(rows(ticket, "priority")) == BOTH
    sent = send(rows(ticket, "priority"))
    assert "More colleagues are affected." in sent["acme.user"].body
    assert "New due times" in sent["acme.user"].body and "Resolution" in sent["acme.user"].body
    assert "Nieuwe" in sent["acme.user2"].body

    # resolved, with the confirm/reject link
    services.transition(ticket, agent, Status.RESOLVED, resolution=RESOLUTION)
    resolved = rows(ticket, "status").filter(context__kind="resolved")
    assert per_person(resolved) == BOTH
    sent = send(resolved)
    assert f"/tickets/{ticket.number}/#resolution" in sent["acme.user"].body

    # reopened by the provider, with the reason
    services.transition(ticket, agent, Status.PLANNED_INTERNAL, note="The fix did not hold.")
    reopened = rows(ticket, "status").filter(context__kind="reopened")
    assert per_person(reopened) == BOTH
    assert "The fix did not hold." in send(reopened)["acme.user"].body

    # resolved again, confirmed by the reporter: the watcher hears it is closed, the reporter
    # is asked for a rating (once)
    services.transition(ticket, agent, Status.RESOLVED, resolution=RESOLUTION)
    services.confirm_resolution(ticket, users["acme.user"])
    assert per_person(rows(ticket, "status").filter(context__kind="closed")) == ONLY_WATCHER
    rating = rows(ticket, "rating")
    assert per_person(rating) == {("acme.user", "email"): 1, ("acme.user", "in_app"): 1}
    body = send(rating)["acme.user"].body
    assert f"/tickets/{ticket.number}/rating/?score=5" in body

    # nothing reached anybody outside the ticket's people
    assert not Notification.objects.filter(ticket=ticket, recipient=users["acme.contact"]).exists()


def test_bell_entries_read_in_the_readers_language(watched, users, client):
    services.transition(
        watched, users["agent"], Status.WAITING_FOR_CUSTOMER, note="Which floor is it?"
    )
    client.force_login(users["acme.user2"])  # Dutch
    page = client.get(reverse("notification-list")).content.decode()
    assert "We hebben informatie van u nodig" in page and "Which floor is it?" in page


def test_preferences_are_respected_but_waiting_always_goes_out(watched, users):
    ticket, agent = watched, users["agent"]
    NotificationPreference.objects.create(
        user=users["acme.user2"], by_email=False, in_app=True, muted_events=["update"]
    )
    services.add_update(ticket, agent, "Working on it.")
    assert per_person(rows(ticket, "update")) == {
        ("acme.user", "email"): 1,
        ("acme.user", "in_app"): 1,
    }
    services.transition(ticket, agent, Status.WAITING_FOR_CUSTOMER, note="Which floor?")
    assert per_person(rows(ticket, "waiting")) == BOTH  # cannot be switched off
    services.transition(ticket, agent, Status.PLANNED_INTERNAL)
    status = rows(ticket, "status")
    assert per_person(status)[("acme.user2", "in_app")] == 1
    assert per_person(status)[("acme.user2", "email")] == 0


def test_customer_escalation_acknowledgement_is_told(watched, users):
    from escalation.acknowledge import acknowledge
    from escalation.services import escalate_by_customer

    escalation = escalate_by_customer(watched, users["acme.contact"], "Nobody calls us back.")
    acknowledge(escalation, users["admin"])
    acked = rows(watched, "escalation")
    assert per_person(acked) == {
        **BOTH,
        ("acme.contact", "email"): 1,
        ("acme.contact", "in_app"): 1,
    }
    subject = send(acked.filter(recipient=users["acme.user"]))["acme.user"].subject
    assert subject == f"Your escalation of {watched.number} is acknowledged"


def test_watchers_add_a_constant_number_of_queries(users, acme, file_ticket):
    """The outbox rows of all watchers are written in bulk: six watchers cost what one does."""
    few = file_ticket(reporter="acme.user", priority=3)
    many = file_ticket(reporter="acme.user", priority=3)
    participation.add_watcher(few, users["acme.user"], users["acme.user2"])
    for i in range(6):
        colleague = make_user(f"acme.colleague{i}", Role.CUSTOMER_USER, acme)
        participation.add_watcher(many, users["acme.user"], colleague)
    counts = []
    for ticket in (few, many, few, many):  # the first round fills the caches
        with CaptureQueriesContext(connection) as ctx:
            services.add_update(ticket, users["agent"], "Progress.")
        counts.append(len(ctx.captured_queries))
    assert counts[2] == counts[3]
    assert rows(many, "update").count() == 2 * 2 * 7  # two updates to 7 people, e-mail + bell


def test_notification_preferences_page_and_api(users, client, api):
    user = users["acme.user"]
    client.force_login(user)
    page = client.get(reverse("notification-preferences"))
    assert page.status_code == 200 and "Public progress updates" in page.content.decode()
    response = client.post(
        reverse("notification-preferences"),
        {"in_app": "on", "event_status": "on", "event_priority": "on"},
    )
    assert response.status_code == 302
    saved = NotificationPreference.objects.get(user=user)
    assert (saved.by_email, saved.in_app) == (False, True)
    assert set(saved.muted_events) == {"update", "escalation", "rating"}

    url = reverse("api-notification-preferences")
    data = api(user).get(url).json()
    assert data["events"]["update"] is False and data["events"]["waiting"] is True
    response = api(user).patch(url, {"by_email": True, "events": {"update": True}}, format="json")
    assert response.status_code == 200
    assert response.json()["by_email"] is True and response.json()["events"]["update"] is True
    # the receipt and waiting for customer cannot be switched off; unknown events are refused
    for events in ({"waiting": False}, {"receipt": False}, {"nonsense": True}):
        response = api(user).patch(url, {"events": events}, format="json")
        assert response.status_code == 400, events
    assert api(None).get(url).status_code in (401, 403)


def test_waiting_banner_shows_the_question(watched, users, client):
    client.force_login(users["acme.user"])
    url = watched.get_absolute_url()
    assert 'id="waiting-banner"' not in client.get(url).content.decode()
    services.transition(
        watched, users["agent"], Status.WAITING_FOR_CUSTOMER, note="Which floor is it?"
    )
    page = client.get(url).content.decode()
    banner = page[page.index('id="waiting-banner"') :][:600]
    assert "Which floor is it?" in banner
    services.add_update(watched, users["acme.user"], "Second floor.")
    assert Ticket.objects.get(pk=watched.pk).status == Status.RESPONSE_RECEIVED
    assert 'id="waiting-banner"' not in client.get(url).content.decode()
