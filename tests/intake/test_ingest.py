"""intake.services.ingest on the real message files: the routing rules end to end."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import OperationalError

from escalation.models import Notification
from intake import services
from intake.models import InboundMessage, InboundStatus
from tickets import services as ticket_services
from tickets.models import Attachment, Channel, Status, Ticket, TicketUpdate

pytestmark = pytest.mark.django_db


def counts():
    return (
        Ticket.objects.count(),
        TicketUpdate.objects.count(),
        Attachment.objects.count(),
        Notification.objects.count(),
    )


def test_known_sender_multipart_becomes_an_incident_with_both_files(users, acme, eml):
    message = services.ingest(eml("multipart_attachments.eml"))
    assert message.status == InboundStatus.PROCESSED, message.reason
    ticket = message.ticket
    assert ticket.organization == acme
    assert ticket.reporter == users["acme.user"]  # Acme.User@Example.com, case-insensitive
    assert ticket.channel == Channel.EMAIL
    assert ticket.kind == "incident" and ticket.priority == 3
    assert ticket.title == "Printer on floor 3 shows error E-42"
    assert ticket.description.startswith("Hello service desk,")
    assert ticket.number in message.reason
    files = {a.original_name: a for a in ticket.attachments.all()}
    assert set(files) == {"error-log.pdf", "display.png"}
    assert files["display.png"].content_type == "image/png"
    assert files["error-log.pdf"].uploaded_by == users["acme.user"]
    with files["error-log.pdf"].file.open("rb") as fh:
        assert fh.read().startswith(b"%PDF-1.4")
    # the stored row
    assert message.message_id == "3f9a2c1e-7b44-4d0e-9b1a-acme-printer@example.com"
    assert message.sender == users["acme.user"]
    assert [a["name"] for a in message.attachments] == ["error-log.pdf", "display.png"]
    with message.raw.open("rb") as fh:
        assert fh.read() == eml("multipart_attachments.eml")
    # registration goes through create_ticket: audit trail and the receipt to the reporter
    assert ticket.audit_entries.filter(action="created").exists()
    assert Notification.objects.filter(ticket=ticket, recipient=users["acme.user"]).exists()


def test_html_only_mail_is_stored_as_text(users, eml):
    message = services.ingest(eml("html_only.eml"))
    ticket = message.ticket
    assert ticket.reporter == users["acme.contact"]
    assert "nobody in Utrecht can work <properly>." in ticket.description
    assert "Café wifi works fine." in ticket.description
    assert "<p>" not in ticket.description and "alert" not in ticket.description


def test_iso_8859_1_mail(users, globex, eml):
    message = services.ingest(eml("latin1.eml"))
    ticket = message.ticket
    assert ticket.organization == globex
    assert ticket.title == "Storing in het café"
    assert "Coördinatie" in ticket.description and "Zoë Müller" in ticket.description
    assert message.from_name == "Zoë Müller"


def test_reply_with_the_ticket_number_is_an_update(users, ticket_42, eml):
    agent = users["agent"]
    ticket_services.take(ticket_42, agent)
    ticket_services.transition(ticket_42, agent, Status.WAITING_FOR_CUSTOMER, note="Restart?")
    tickets_before = Ticket.objects.count()

    message = services.ingest(eml("reply_to_ticket.eml"))

    assert message.status == InboundStatus.PROCESSED, message.reason
    assert message.ticket == ticket_42
    assert Ticket.objects.count() == tickets_before
    update = ticket_42.updates.order_by("-pk").first()
    assert update.author == users["acme.user"]
    assert update.visibility == "public"
    assert update.body.startswith("The phones work again after the restart, thank you.")
    assert "Could you restart" not in update.body  # the quoted history is left out
    assert "tool.exe" in update.body  # the refused file is noted, not attached
    assert [a.original_name for a in update.attachments.all()] == ["calls.txt"]
    assert "tool.exe" in message.reason
    ticket_42.refresh_from_db()
    assert ticket_42.status == Status.RESPONSE_RECEIVED  # the customer's reaction


def test_auto_reply_is_ignored_even_from_a_known_sender_with_a_ticket_number(users, ticket_42, eml):
    mail.outbox.clear()
    before = counts()
    message = services.ingest(eml("auto_reply.eml"))
    assert message.status == InboundStatus.IGNORED
    assert "Auto-Submitted" in message.reason
    assert message.ticket is None
    assert counts() == before  # no ticket, no update, no notification: no loop
    assert mail.outbox == []


@pytest.mark.parametrize("name", ["bounce_mailer_daemon.eml", "bulk_list.eml"])
def test_bounces_and_bulk_mail_are_ignored(users, eml, name):
    before = counts()
    message = services.ingest(eml(name))
    assert message.status == InboundStatus.IGNORED
    assert counts() == before


def test_unknown_sender_is_held(users, eml):
    before = counts()
    message = services.ingest(eml("unknown_sender.eml"))
    assert message.status == InboundStatus.HELD
    assert "jan@unknown-company.example" in message.reason
    assert message.ticket is None and message.sender is None
    assert counts() == before
    assert message.attachments == [
        {"name": "modem.pdf", "content_type": "application/pdf", "size": 440}
    ]


def test_the_same_message_twice_makes_one_ticket(users, eml):
    first = services.ingest(eml("multipart_attachments.eml"))
    second = services.ingest(eml("multipart_attachments.eml"))
    assert second.pk == first.pk and second.duplicate
    assert Ticket.objects.count() == 1
    assert Attachment.objects.count() == 2
    assert InboundMessage.objects.count() == 1


def test_without_message_id_the_bytes_deduplicate(users, eml):
    raw = eml("latin1.eml").replace(b"Message-ID: <20260304101500.latin1@example.com>\n", b"")
    assert b"Message-ID" not in raw
    services.ingest(raw)
    services.ingest(raw)
    assert Ticket.objects.count() == 1
    assert InboundMessage.objects.get().message_id is None


def test_another_organisation_quoting_a_ticket_number_gets_its_own_ticket(
    users, globex, ticket_42, eml
):
    updates_before = ticket_42.updates.count()
    message = services.ingest(eml("other_org_reply.eml"))
    assert message.status == InboundStatus.PROCESSED
    assert ticket_42.updates.count() == updates_before  # no update on acme's ticket
    assert message.ticket != ticket_42
    assert message.ticket.organization == globex
    assert message.ticket.reporter == users["globex.user"]
    assert "INC-2026-00042" not in message.reason  # nothing tells them the ticket exists


def test_a_colleague_who_cannot_see_the_ticket_gets_a_new_one(users, ticket_42, eml):
    users["acme.user2"].email = "acme.user@example.com.invalid"
    raw = eml("reply_to_ticket.eml").replace(
        b"From: Anna de Vries <acme.user@example.com>", b"From: acme.user2@example.com"
    )
    message = services.ingest(raw)
    assert message.ticket != ticket_42 and message.ticket.reporter == users["acme.user2"]


def test_the_authorised_contact_may_reply_on_a_colleagues_ticket(users, ticket_42, eml):
    raw = eml("reply_to_ticket.eml").replace(
        b"From: Anna de Vries <acme.user@example.com>", b"From: ACME.CONTACT@example.com"
    )
    message = services.ingest(raw)
    assert message.ticket == ticket_42
    assert ticket_42.updates.get().author == users["acme.contact"]


def test_reply_on_a_closed_ticket_opens_a_follow_up(users, ticket_42, eml):
    Ticket.objects.filter(pk=ticket_42.pk).update(status=Status.CLOSED)
    message = services.ingest(eml("reply_to_ticket.eml"))
    assert message.status == InboundStatus.PROCESSED
    assert message.ticket != ticket_42
    assert message.ticket.description.startswith("Follow-up of the closed ticket INC-2026-00042")


def test_staff_sender_without_a_ticket_is_held(users, eml):
    raw = eml("html_only.eml").replace(b"acme.contact@example.com", b"agent@example.com")
    message = services.ingest(raw)
    assert message.status == InboundStatus.HELD
    assert Ticket.objects.count() == 0


def test_staff_reply_with_a_ticket_number_is_a_public_update(users, ticket_42, eml):
    raw = eml("reply_to_ticket.eml").replace(b"acme.user@example.com", b"agent@example.com")
    message = services.ingest(raw)
    assert message.ticket == ticket_42
    assert ticket_42.updates.get().author == users["agent"]


def test_ambiguous_or_inactive_senders_are_held(users, eml):
    users["acme.user2"].email = "ACME.USER@example.com"
    users["acme.user2"].save()
    message = services.ingest(eml("multipart_attachments.eml"))
    assert message.status == InboundStatus.HELD
    assert "More than one user" in message.reason

    users["globex.user"].is_active = False
    users["globex.user"].save()
    assert services.ingest(eml("latin1.eml")).status == InboundStatus.HELD


def test_oversized_and_refused_attachments_are_skipped_and_noted(settings, users, eml):
    settings.ATTACHMENT_MAX_BYTES = 100  # the PDF (440 B) is too large, the PNG (69 B) fits
    message = services.ingest(eml("multipart_attachments.eml"))
    assert message.status == InboundStatus.PROCESSED
    ticket = message.ticket
    assert [a.original_name for a in ticket.attachments.all()] == ["display.png"]
    assert "error-log.pdf" in ticket.description and "too large" in ticket.description
    assert "error-log.pdf" in message.reason


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\x01\x02 not a message",
        b"Subject: no sender\r\n\r\nhello",
        b"From: a@\r\nSubject: broken\r\n\r\nhello",
    ],
)
def test_bad_input_is_stored_as_rejected(users, raw):
    message = services.ingest(raw)
    assert message.status == InboundStatus.REJECTED
    assert message.reason
    assert Ticket.objects.count() == 0


def test_a_message_over_the_size_limit_is_rejected_without_storing_it(settings, users, eml):
    settings.INTAKE_MAX_MESSAGE_BYTES = 1000
    message = services.ingest(eml("multipart_attachments.eml"))
    assert message.status == InboundStatus.REJECTED
    assert "too large" in message.reason
    assert not message.raw
    assert message.from_address == "Acme.User@Example.com"  # the headers tell who sent it
    assert Ticket.objects.count() == 0


def test_a_business_error_rolls_back_and_rejects(monkeypatch, users, eml):
    def refuse(**kwargs):
        raise ValidationError({"title": "nope"})

    monkeypatch.setattr(ticket_services, "create_ticket", refuse)
    message = services.ingest(eml("multipart_attachments.eml"))
    assert message.status == InboundStatus.REJECTED
    assert "nope" in message.reason
    assert InboundMessage.objects.count() == 1
    # re-ingesting the same message does not retry it: it is known
    assert services.ingest(eml("multipart_attachments.eml")).pk == message.pk


def test_an_unexpected_error_rejects_and_a_database_outage_raises(monkeypatch, users, eml):
    def crash(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(ticket_services, "create_ticket", crash)
    message = services.ingest(eml("latin1.eml"))
    assert message.status == InboundStatus.REJECTED and "boom" in message.reason

    def outage(**kwargs):
        raise OperationalError("database is gone")

    monkeypatch.setattr(ticket_services, "create_ticket", outage)
    with pytest.raises(OperationalError):
        services.ingest(eml("html_only.eml"))
    assert not InboundMessage.objects.filter(subject="VPN drops every 10 minutes").exists()
