"""The change path's pages: the request form, the kind switch, the question form and the
steps on the ticket page (roles, stages, form errors, tenant isolation, the reader's language)."""

from datetime import date

from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from changes.models import ChangeRequest
from tickets.models import Ticket

from .conftest import at

NOW = at(2026, 11, 25, 11, 0)


def login(users, username):
    client = Client()
    client.force_login(users[username])
    return client


def post_step(client, ticket, when=NOW, **data):
    with freeze_time(when):
        return client.post(reverse("ticket-change", args=[ticket.number]), data)


def test_a_customer_files_a_change_request_with_what_why_date_and_services(users, contracts, acme):
    client = login(users, "acme.contact")
    with freeze_time(NOW):
        page = client.get(reverse("change-create"))
        assert page.status_code == 200
        assert b"change-guide" in page.content
        service = acme.services.first()
        response = client.post(
            reverse("change-create"),
            {
                "title": "Extension 215 in the reception group",
                "description": "Add extension 215 to the reception hunt group.",
                "why": "A new receptionist starts on 1 December.",
                "wished_date": "2026-11-30",
                "services": [service.pk],
                "priority": "4",
            },
        )
    ticket = Ticket.objects.get(kind="change")
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()
    change = ChangeRequest.objects.get(ticket=ticket)
    assert change.why == "A new receptionist starts on 1 December."
    assert change.wished_date == date(2026, 11, 30)
    assert list(change.services.all()) == [service]
    assert ticket.priority == 4 and ticket.number.startswith("CHG-")


def test_the_change_form_refuses_a_past_wished_date_and_other_organisations_services(
    users, contracts, globex
):
    client = login(users, "acme.contact")
    with freeze_time(NOW):
        response = client.post(
            reverse("change-create"),
            {
                "title": "t",
                "description": "d",
                "why": "w",
                "wished_date": "2026-11-01",
                "services": [globex.services.first().pk],
                "priority": "3",
            },
        )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"wished_date", "services"}
    assert not Ticket.objects.exists()


def test_new_report_offers_incident_change_and_question(users, contracts):
    client = login(users, "acme.user")
    page = client.get(reverse("ticket-create")).content.decode()
    for name in ("change-create", "question-create"):
        assert reverse(name) in page
    response = client.post(
        reverse("question-create"),
        {"title": "Invoice November", "description": "Which hours are on the invoice?"},
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert ticket.kind == "question" and ticket.number.startswith("QST-")


def test_only_customers_and_the_service_desk_file_changes(users, contracts):
    for who in ("csm", "director"):
        assert login(users, who).get(reverse("change-create")).status_code == 403
    assert login(users, "oncall").get(reverse("change-create")).status_code == 200


def test_the_agent_registers_a_change_for_a_caller(users, contracts, acme, globex):
    agent = login(users, "agent")
    url = reverse("change-create")
    with freeze_time(NOW):
        page = agent.get(url)
        assert page.status_code == 200 and b'id="change-caller"' in page.content
        # choosing the organisation (a GET without JS) lists its callers and services
        page = agent.get(url, {"organization": acme.pk, "title": "Kept"}).content.decode()
        assert "acme.contact" in page or "Acme" in page
        assert 'value="Kept"' in page
        response = agent.post(url, {
            "organization": acme.pk, "caller": users["acme.user"].pk, "channel": "phone",
            "title": "New voicemail greeting", "description": "Record the holiday greeting.",
            "why": "Christmas closure", "priority": "3",
            "services": [acme.services.first().pk],
        })  # fmt: skip
        assert response.status_code == 302, response.content
        # a caller of another organisation is refused
        response = agent.post(url, {
            "organization": acme.pk, "caller": users["globex.user"].pk, "channel": "phone",
            "title": "t", "description": "d", "why": "w", "priority": "3",
        })  # fmt: skip
        assert response.status_code == 400 and "caller" in response.context["form"].errors
    ticket = Ticket.objects.get(kind="change")
    assert ticket.reporter == users["acme.user"] and ticket.organization == acme
    assert ticket.channel == "phone"
    change = ChangeRequest.objects.get(ticket=ticket)
    assert change.why == "Christmas closure" and not change.non_standard


def test_the_agent_raises_a_change_from_an_incident_page(users, contracts, make_ticket):
    incident = make_ticket("acme.user")
    agent = login(users, "agent")
    with freeze_time(NOW):
        page = agent.get(incident.get_absolute_url()).content.decode()
        assert 'id="raise-change"' in page
        # customers see no button
        assert (
            'id="raise-change"'
            not in login(users, "acme.user").get(incident.get_absolute_url()).content.decode()
        )
        form_url = f"{reverse('change-create')}?from={incident.number}"
        assert form_url in page
        form = agent.get(form_url)
        assert form.status_code == 200 and b'id="change-source"' in form.content
        response = agent.post(reverse("change-create"), {
            "raised_from": incident.number, "organization": incident.organization_id,
            "caller": users["acme.user"].pk, "channel": "phone",
            "title": "Replace the faulty switch", "description": "Swap the switch in rack 2.",
            "why": "Root cause of the outage", "priority": "3",
        })  # fmt: skip
    assert response.status_code == 302, response.content
    change = ChangeRequest.objects.get(ticket__kind="change")
    assert change.raised_from == incident and change.non_standard
    with freeze_time(NOW):
        page = agent.get(change.ticket.get_absolute_url()).content.decode()
        assert incident.number in page and "non-standard" in page
        # the incident shows where the change went, also to its reporter
        seen = login(users, "acme.user").get(incident.get_absolute_url()).content.decode()
    assert change.ticket.number in seen


def test_a_change_raised_from_an_unknown_ticket_or_for_another_organisation_is_refused(
    users, contracts, make_ticket, globex
):
    incident = make_ticket("acme.user")
    agent = login(users, "agent")
    data = {
        "organization": globex.pk, "caller": users["globex.user"].pk, "channel": "phone",
        "title": "t", "description": "d", "why": "w", "priority": "3",
    }  # fmt: skip
    with freeze_time(NOW):
        assert agent.get(reverse("change-create"), {"from": "INC-9999-99999"}).status_code == 200
        response = agent.post(reverse("change-create"), {**data, "raised_from": "INC-1-1"})
        assert response.status_code == 400
        response = agent.post(reverse("change-create"), {**data, "raised_from": incident.number})
        assert response.status_code == 400
    assert not Ticket.objects.filter(kind="change").exists()


def test_the_steps_on_the_ticket_page_follow_role_and_stage(users, file_change):
    ticket = file_change("acme.user")
    url = ticket.get_absolute_url()
    agent, contact, user = (login(users, u) for u in ("agent", "acme.contact", "acme.user"))
    with freeze_time(NOW):
        page = agent.get(url).content.decode()
    assert 'data-change-step="classify"' in page and 'data-change-step="approve"' not in page
    response = post_step(agent, ticket, action="classify", type="medium", reason="Average")
    assert response.status_code == 302
    with freeze_time(NOW):
        page = contact.get(url).content.decode()
        assert 'data-change-step="approve"' in page and 'data-change-step="plan"' not in page
        assert 'data-change-step="approve"' not in user.get(url).content.decode()
    # a customer user may not approve: a message, nothing changes
    response = post_step(user, ticket, action="approve")
    assert response.status_code == 302
    assert ChangeRequest.objects.get(ticket=ticket).stage == "classified"
    assert post_step(contact, ticket, action="approve", note="ok").status_code == 302
    assert ChangeRequest.objects.get(ticket=ticket).stage == "approved"
    # inverted dates: the form again, with the error
    response = post_step(
        agent, ticket, action="plan",
        planned_start="2026-12-02T12:00", planned_end="2026-12-02T08:00",
    )  # fmt: skip
    assert response.status_code == 400
    assert "after the start" in response.content.decode()
    response = post_step(
        agent, ticket, action="plan",
        planned_start="2026-12-02T08:00", planned_end="2026-12-02T12:00",
    )  # fmt: skip
    assert response.status_code == 302
    with freeze_time(NOW):
        page = user.get(url).content.decode()
    assert "02-12-2026 08:00 – 02-12-2026 12:00" in page


def test_a_step_in_the_wrong_stage_is_a_message(users, file_change):
    ticket = file_change("acme.user")
    agent = login(users, "agent")
    response = post_step(agent, ticket, action="start")
    assert response.status_code == 302
    with freeze_time(NOW):
        page = agent.get(ticket.get_absolute_url()).content.decode()
    assert "Classify the change first." in page


def test_another_organisations_change_page_and_steps_are_404(users, file_change):
    ticket = file_change("acme.contact")
    for who in ("globex.contact", "globex.user"):
        client = login(users, who)
        assert client.get(ticket.get_absolute_url()).status_code == 404
        assert post_step(client, ticket, action="approve").status_code == 404


def test_the_panel_speaks_the_readers_language(users, file_change):
    users["acme.contact"].language = "nl"
    users["acme.contact"].save()
    ticket = file_change("acme.contact")
    post_step(login(users, "agent"), ticket, action="classify", type="standard", reason="Klein")
    with freeze_time(NOW):
        page = login(users, "acme.contact").get(ticket.get_absolute_url()).content.decode()
    assert "Wijzigingsverzoek" in page and "Goedgekeurd" in page and "Standaard" in page


def test_the_agent_saves_a_draft_quote_on_the_page_and_sends_it_later(users, file_change):
    ticket = file_change("acme.user")
    url = ticket.get_absolute_url()
    agent, contact = login(users, "agent"), login(users, "acme.contact")
    post_step(agent, ticket, action="classify", type="exceptional", reason="New application")
    response = post_step(agent, ticket, action="quote", free="false", amount="700", draft="true")
    assert response.status_code == 302
    document = ChangeRequest.objects.get(ticket=ticket).documents.get()
    assert (document.status, document.amount) == ("draft", 700)
    with freeze_time(NOW):
        page = agent.get(url).content.decode()
        assert 'id="change-draft"' in page and 'value="700.00"' in page  # the form holds it
        seen = contact.get(url).content.decode()
    assert 'id="change-draft"' not in seen and 'id="change-documents"' not in seen
    assert 'data-change-step="approve"' not in seen
    assert post_step(agent, ticket, action="quote", free="false", amount="700").status_code == 302
    document.refresh_from_db()
    assert (document.version, document.status) == (1, "sent")
    with freeze_time(NOW):
        seen = contact.get(url).content.decode()
    assert 'id="change-documents"' in seen and 'data-change-step="approve"' in seen


def test_the_page_of_a_change_ticket_without_its_change_request(file_change, users):
    """A change ticket registered before the change path (no change request row) opens for the
    agent and the customer."""
    ticket = file_change()
    ChangeRequest.objects.filter(ticket=ticket).delete()
    for username in ("agent", "acme.contact"):
        page = login(users, username).get(ticket.get_absolute_url())
        assert page.status_code == 200, username
        assert ticket.number in page.text
