"""Registering a ticket for a caller (issue 12 item 4) and the channel recorded honestly
(item 5): the caller is the reporter, gets the receipt and sees the ticket; the API records
`api`, refuses a customer's channel and reporter, and lets staff name the caller and channel."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from escalation.models import Notification
from pim.models import Role, User
from tickets.models import AuditEntry, Ticket

LIST = "/api/v1/tickets/"


@pytest.fixture
def agent_client(client, users):
    client.force_login(users["agent"])
    return client


def form_data(organization, **extra):
    return {
        "organization": organization.pk,
        "channel": "phone",
        "title": "Centrale ligt eruit",
        "description": "Belt in namens de receptie.",
        "priority": "3",
        **extra,
    }


def receipts(ticket):
    return Notification.objects.filter(ticket=ticket, template="receipt")


def test_agent_registers_for_an_existing_caller(agent_client, client, users, acme):
    caller = users["acme.user"]
    caller.first_name, caller.last_name = "Anna", "de Vries"
    caller.save()
    service, location = acme.services.get(), acme.locations.get()
    response = agent_client.post(
        reverse("ticket-create"),
        form_data(acme, caller=caller.pk, service=service.pk, location=location.pk),
        follow=True,
    )
    ticket = Ticket.objects.get(title="Centrale ligt eruit")
    assert ticket.reporter == caller and ticket.channel == "phone"
    assert (ticket.service, ticket.location) == (service, location)
    assert "Anna de Vries" in response.text  # the confirmation names the caller
    # the receipt goes to the caller (e-mail and bell), nobody else
    assert {(n.recipient, n.channel) for n in receipts(ticket)} == {
        (caller, "email"),
        (caller, "in_app"),
    }
    created = AuditEntry.objects.get(ticket=ticket, action="created")
    assert created.actor == users["agent"]
    assert created.changes["channel"] == [None, "phone"]
    assert created.changes["reporter"] == [None, "acme.user"]
    # the caller finds it under "My tickets"
    client.force_login(caller)
    assert ticket.number in client.get(reverse("ticket-list")).text


def test_caller_of_another_organisation_is_refused(agent_client, users, acme):
    response = agent_client.post(
        reverse("ticket-create"), form_data(acme, caller=users["globex.user"].pk)
    )
    assert response.status_code == 200
    assert response.context["form"].errors["caller"]
    assert not Ticket.objects.exists()


def test_services_locations_and_callers_follow_the_organisation(agent_client, users, acme):
    empty = agent_client.get(reverse("ticket-create")).text
    assert "Register a ticket for a caller" in empty
    assert "Telefonie" not in empty and "Datacenter" not in empty
    page = agent_client.get(reverse("ticket-create"), {"organization": acme.pk}).text
    assert "Telefonie" in page and "Utrecht" in page
    assert "Datacenter" not in page and "Rotterdam" not in page
    assert "acme.user@example.com" in page and "globex.user@example.com" not in page
    assert "U krijgt" not in page and "You get a ticket number" not in page  # speaks to agents
    assert "the customer cannot be reached by phone" in page and "you cannot be" not in page
    # the search narrows the callers
    found = agent_client.get(
        reverse("ticket-create"), {"organization": acme.pk, "caller_q": "contact"}
    ).text
    assert "acme.contact@example.com" in found and "acme.user@example.com" not in found
    # junk in the lookup is ignored, never a 500
    for junk in ("abc", "-1", "99999999999999999999999", ""):
        assert agent_client.get(reverse("ticket-create"), {"organization": junk}).status_code == 200
    # a foreign service is refused on the form
    response = agent_client.post(
        reverse("ticket-create"),
        form_data(acme, caller=users["acme.user"].pk, service=_globex_service()),
    )
    assert response.context["form"].errors["service"]


def _globex_service():
    from pim.models import Service

    return Service.objects.get(code="datacenter").pk


def test_agent_adds_a_new_contact_on_the_fly(agent_client, acme):
    response = agent_client.post(
        reverse("ticket-create"),
        form_data(
            acme,
            new_first_name="Piet",
            new_last_name="Bakker",
            new_email="piet.bakker@acme.example",
            new_phone="+31 30 123 4567",
            new_language="en",
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    contact = User.objects.get(email="piet.bakker@acme.example")
    assert contact.membership.organization == acme
    assert contact.membership.role == Role.CUSTOMER_USER
    assert contact.membership.phone == "+31 30 123 4567"
    assert contact.language == "en" and contact.has_usable_password()
    ticket = Ticket.objects.get()
    assert ticket.reporter == contact
    assert receipts(ticket).filter(recipient=contact).count() == 2


def test_a_caller_or_a_new_contact_is_required(agent_client, users, acme):
    response = agent_client.post(reverse("ticket-create"), form_data(acme))
    assert response.context["form"].errors["caller"]
    response = agent_client.post(reverse("ticket-create"), form_data(acme, new_first_name="Piet"))
    assert response.context["form"].errors["new_email"]
    # an address that already has an account: choose that person instead
    response = agent_client.post(
        reverse("ticket-create"),
        form_data(acme, new_first_name="Piet", new_email="ACME.user@example.com"),
    )
    assert "choose them as the caller" in str(response.context["form"].errors["new_email"])
    assert not Ticket.objects.exists()
    assert User.objects.filter(email__iexact="acme.user@example.com").count() == 1


def test_customer_form_is_unchanged(client, users):
    client.force_login(users["acme.user"])
    page = client.get(reverse("ticket-create")).text
    assert "Report an incident" in page
    assert "you cannot be reached by phone" in page
    assert 'name="caller"' not in page and 'name="channel"' not in page


# --- API ------------------------------------------------------------------------------------


def test_api_tickets_get_channel_api(api, users, acme):
    for username in ("acme.user", "agent"):
        data = {"title": "Via API", "description": "Integration.", "organization": acme.pk}
        if username == "acme.user":
            del data["organization"]
        response = api(users[username]).post(LIST, data, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["channel"] == "api"


@pytest.mark.parametrize(
    "field, value",
    [("channel", "phone"), ("channel", "api"), ("reporter", "acme.user2"),
     ("detected_at", "2026-01-01T10:00:00Z")],
)  # fmt: skip
def test_a_customer_cannot_set_channel_or_reporter(api, users, field, value):
    response = api(users["acme.user"]).post(
        LIST, {"title": "x", "description": "y", field: value}, format="json"
    )
    assert response.status_code == 400
    assert "service desk staff" in response.json()[field][0]
    assert not Ticket.objects.exists()


def test_staff_register_for_a_caller_through_the_api(api, users, acme):
    response = api(users["agent"]).post(
        LIST,
        {"title": "Belde in", "description": "Telefoon.", "organization": acme.pk,
         "reporter": "acme.user", "channel": "phone"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["reporter"] == "acme.user"
    ticket = Ticket.objects.get()
    assert ticket.channel == "phone"
    assert receipts(ticket).filter(recipient=users["acme.user"]).exists()
    assert AuditEntry.objects.get(ticket=ticket, action="created").changes["channel"] == [
        None,
        "phone",
    ]


@pytest.mark.parametrize("reporter", ["globex.user", "agent"])
def test_reporter_outside_the_organisation_is_a_clear_400(api, users, acme, reporter):
    response = api(users["agent"]).post(
        LIST,
        {"title": "x", "description": "y", "organization": acme.pk, "reporter": reporter},
        format="json",
    )
    assert response.status_code == 400
    assert "is not a person of Acme Zorg" in str(response.json()["reporter"])
    assert not Ticket.objects.exists()


def test_staff_channel_must_be_one_the_service_desk_records(api, users, acme):
    response = api(users["agent"]).post(
        LIST,
        {"title": "x", "description": "y", "organization": acme.pk, "channel": "portal"},
        format="json",
    )
    assert response.status_code == 400
    assert "channel" in response.json()


def test_monitoring_detection_starts_the_response_clock(api, users, acme):
    detected = (timezone.now() - timedelta(minutes=20)).replace(microsecond=0)
    response = api(users["agent"]).post(
        LIST,
        {"title": "Link down", "description": "NMS alarm.", "organization": acme.pk,
         "channel": "monitoring", "detected_at": detected.isoformat()},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert ticket.channel == "monitoring" and ticket.reported_at == detected
    audit = AuditEntry.objects.get(ticket=ticket, action="created")
    assert datetime.fromisoformat(audit.changes["reported_at"][1]) == detected
    from sla.models import Clock

    response_clock = Clock.objects.get(ticket=ticket, target="response")
    assert response_clock.started_at == detected


@pytest.mark.parametrize(
    "data",
    [
        {"channel": "phone", "detected_at": "2026-01-01T10:00:00Z"},
        {"channel": "monitoring", "detected_at": "2999-01-01T10:00:00Z"},
    ],
)
def test_detection_time_only_for_monitoring_and_never_ahead(api, users, acme, data):
    response = api(users["agent"]).post(
        LIST,
        {"title": "x", "description": "y", "organization": acme.pk, **data},
        format="json",
    )
    assert response.status_code == 400
    assert "detected_at" in response.json()
    assert not Ticket.objects.exists()


def test_agent_registers_a_question_for_a_caller(agent_client, users, acme):
    page = agent_client.get(reverse("ticket-create")).text
    assert 'name="kind"' in page and reverse("change-create") in page  # and the change form
    response = agent_client.post(
        reverse("ticket-create"),
        form_data(acme, caller=users["acme.user"].pk, kind="question", priority="4"),
    )
    ticket = Ticket.objects.get(title="Centrale ligt eruit")
    assert response.status_code == 302
    assert ticket.kind == "question" and ticket.number.startswith("QST-")
    assert ticket.reporter == users["acme.user"]
    response = agent_client.post(
        reverse("ticket-create"), form_data(acme, caller=users["acme.user"].pk, kind="change")
    )
    assert response.status_code == 200 and "kind" in response.context["form"].errors
