"""The triage page: provider staff only, held messages become tickets or are discarded."""

import pytest
from django.test import Client
from django.urls import reverse

from intake import services
from intake.models import InboundMessage, InboundStatus
from tickets.models import Channel, Ticket

pytestmark = pytest.mark.django_db

TRIAGE = "/intake/"


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def held(users, eml):
    message = services.ingest(eml("unknown_sender.eml"))
    assert message.status == InboundStatus.HELD
    return message


def test_the_routes():
    assert reverse("intake-triage") == TRIAGE
    assert reverse("intake-create-ticket", args=[5]) == "/intake/5/ticket/"
    assert reverse("intake-discard", args=[5]) == "/intake/5/discard/"


@pytest.mark.parametrize("username", ["acme.user", "acme.contact", "globex.contact"])
def test_customers_get_404(users, held, acme, username):
    client = client_for(users[username])
    response = client.get(TRIAGE)
    assert response.status_code == 404
    assert b"jan@unknown-company.example" not in response.content
    for url in (f"/intake/{held.pk}/ticket/", f"/intake/{held.pk}/discard/"):
        response = client.post(url, {"organization": acme.pk, "reason": "x"})
        assert response.status_code == 404
    held.refresh_from_db()
    assert held.status == InboundStatus.HELD
    assert Ticket.objects.count() == 0


def test_anonymous_is_sent_to_the_login(held):
    response = Client().get(TRIAGE)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_agent_sees_held_mail_escaped(users, held):
    response = client_for(users["agent"]).get(TRIAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "jan@unknown-company.example" in html
    assert "Jan Jansen" in html
    assert "Internet down at our office &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;b&gt;urgent&lt;/b&gt;" in html  # the body preview is text, escaped
    assert "modem.pdf" in html
    assert f'action="/intake/{held.pk}/ticket/"' in html
    assert 'href="/intake/"' in html  # the nav link


def test_customers_have_no_nav_link(users):
    response = client_for(users["acme.user"]).get(reverse("ticket-list"))
    assert 'href="/intake/"' not in response.content.decode()


def test_empty_state(users):
    response = client_for(users["agent"]).get(TRIAGE)
    assert "No e-mail is waiting for triage." in response.content.decode()


def test_status_filter_and_pagination(users, eml):
    services.ingest(eml("bulk_list.eml"))
    for i in range(23):
        services.ingest(
            eml("unknown_sender.eml").replace(b"unknown-sender-1@", f"unknown-{i}@".encode())
        )
    client = client_for(users["agent"])
    page1 = client.get(TRIAGE).content.decode()
    assert "23 messages" in page1 and "Page 1 of 2" in page1
    assert "March newsletter" not in page1
    page2 = client.get(TRIAGE + "?page=2").content.decode()
    assert page2.count('class="pim-intake-message"') == 3
    ignored = client.get(TRIAGE + "?status=ignored").content.decode()
    assert "March newsletter" in ignored and "Create ticket" not in ignored
    assert client.get(TRIAGE + "?status=bogus").status_code == 200


def test_agent_triages_held_mail_into_a_ticket(users, acme, held):
    agent = users["agent"]
    response = client_for(agent).post(
        f"/intake/{held.pk}/ticket/",
        {"organization": acme.pk, "title": "Internet down Amersfoort", "priority": "2"},
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()
    assert ticket.organization == acme
    assert ticket.channel == Channel.EMAIL
    assert ticket.reporter == agent
    assert ticket.priority == 2
    assert ticket.title == "Internet down Amersfoort"
    assert "Jan Jansen <jan@unknown-company.example>" in ticket.description
    assert "our internet has been down since 11:00" in ticket.description
    assert [a.original_name for a in ticket.attachments.all()] == ["modem.pdf"]
    assert ticket.attachments.get().uploaded_by == agent
    held.refresh_from_db()
    assert held.status == InboundStatus.PROCESSED
    assert held.ticket == ticket and held.triaged_by == agent and held.triaged_at
    processed = client_for(agent).get(TRIAGE + "?status=processed").content.decode()
    assert f'href="{ticket.get_absolute_url()}"' in processed

    # the same message cannot be triaged twice
    response = client_for(users["oncall"]).post(
        f"/intake/{held.pk}/ticket/", {"organization": acme.pk, "priority": "3"}, follow=True
    )
    assert "already been handled" in response.content.decode()
    assert Ticket.objects.count() == 1


def test_an_empty_title_takes_the_subject(users, globex, held):
    client_for(users["agent"]).post(
        f"/intake/{held.pk}/ticket/", {"organization": globex.pk, "title": "", "priority": "3"}
    )
    assert Ticket.objects.get().title.startswith("Internet down at our office")


def test_triage_needs_an_organisation(users, held):
    response = client_for(users["agent"]).post(
        f"/intake/{held.pk}/ticket/", {"priority": "3"}, follow=True
    )
    assert response.status_code == 200
    assert Ticket.objects.count() == 0
    held.refresh_from_db()
    assert held.status == InboundStatus.HELD


def test_discard_with_a_reason(users, held):
    client = client_for(users["agent"])
    client.post(f"/intake/{held.pk}/discard/", {"reason": ""})
    held.refresh_from_db()
    assert held.status == InboundStatus.HELD

    response = client.post(f"/intake/{held.pk}/discard/", {"reason": "spam"})
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.status == InboundStatus.IGNORED
    assert held.triaged_by == users["agent"] and "spam" in held.reason
    assert Ticket.objects.count() == 0


def test_managers_read_but_do_not_triage(users, acme, held):
    client = client_for(users["csm"])
    html = client.get(TRIAGE).content.decode()
    assert "jan@unknown-company.example" in html and "Create ticket" not in html
    client.post(f"/intake/{held.pk}/ticket/", {"organization": acme.pk, "priority": "3"})
    client.post(f"/intake/{held.pk}/discard/", {"reason": "x"})
    held.refresh_from_db()
    assert held.status == InboundStatus.HELD


def test_actions_are_post_only(users, held):
    client = client_for(users["agent"])
    assert client.get(f"/intake/{held.pk}/ticket/").status_code == 405
    assert client.post("/intake/999999/discard/", {"reason": "x"}).status_code == 404


def test_intake_rows_are_not_in_the_ticket_scope(users, held):
    """A held message belongs to no organisation; nothing about it reaches customers' pages."""
    assert InboundMessage.objects.count() == 1
    html = client_for(users["acme.contact"]).get(reverse("ticket-list")).content.decode()
    assert "unknown-company" not in html


def test_triage_without_the_raw_file_keeps_the_text(users, acme, held):
    held.raw.storage.delete(held.raw.name)
    client_for(users["agent"]).post(
        f"/intake/{held.pk}/ticket/", {"organization": acme.pk, "priority": "3"}
    )
    ticket = Ticket.objects.get()
    assert "our internet has been down" in ticket.description
    assert ticket.attachments.count() == 0
