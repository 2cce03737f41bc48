"""Retention (AVG/GDPR, ASVS 8.3.8): PERSONAL_DATA_RETENTION_DAYS after a ticket closed, its
personal data is anonymised by the beat task (and the management command beside it), audited;
an erasure request does the same for one person's closed tickets at once."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import serializers
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.management import call_command
from freezegun import freeze_time

from escalation.models import Escalation, Notification
from intake.models import InboundMessage
from pim import thumbnails
from privacy import services
from privacy.models import AnonymisedTicket, PrivacyAction, PrivacyEvent
from privacy.tasks import anonymise_expired
from tests.privacy.conftest import CLOSED_AT, EMAIL, PHONE
from tickets.models import Attachment, AuditEntry, PriorityChange, Ticket, TicketUpdate

pytestmark = pytest.mark.django_db

DUE = CLOSED_AT + timedelta(days=730, minutes=1)
NOT_YET = CLOSED_AT + timedelta(days=730, minutes=-1)


def everything_about(ticket):
    """Every stored row of the ticket, serialised (what a database dump would show)."""
    rows = [
        Ticket.objects.filter(pk=ticket.pk),
        TicketUpdate.objects.filter(ticket=ticket),
        Attachment.objects.filter(ticket=ticket),
        PriorityChange.objects.filter(ticket=ticket),
        AuditEntry.objects.filter(ticket=ticket),
        Escalation.objects.filter(ticket=ticket),
        Notification.objects.filter(ticket=ticket),
        InboundMessage.objects.filter(ticket=ticket),
    ]
    return "".join(serializers.serialize("json", qs, use_natural_foreign_keys=True) for qs in rows)


def run(now, **kwargs):
    with freeze_time(now):
        return services.anonymise_expired(**kwargs)


def test_nothing_happens_before_the_retention_period(history, django_capture_on_commit_callbacks):
    before = everything_about(history["ticket"])
    with django_capture_on_commit_callbacks(execute=True):
        assert run(NOT_YET) == ([], 0)
    assert everything_about(history["ticket"]) == before
    assert not PrivacyEvent.objects.exists()


def test_closed_ticket_is_anonymised_after_the_retention_period(
    history, users, django_capture_on_commit_callbacks
):
    ticket, message = history["ticket"], history["message"]
    files = [a.file.name for a in ticket.attachments.all()] + [message.raw.name]
    assert all(default_storage.exists(name) for name in files)
    thumbnail_keys = []
    for attachment in ticket.attachments.all():  # its preview made (or refused) and cached
        thumbnails.thumbnail_for(
            attachment.pk, attachment.file.name, attachment.original_name, attachment.file.open
        )
        thumbnail_keys.append(thumbnails._key(attachment.pk, attachment.file.name))
    assert None not in cache.get_many(thumbnail_keys).values() and len(thumbnail_keys) == 2
    before = everything_about(ticket)
    for trace in (PHONE, EMAIL, "acme.user", "020 123 4567", "Acme.User@Example.com"):
        assert trace in before  # the fixture really put it there

    with django_capture_on_commit_callbacks(execute=True):
        numbers, messages = run(DUE)
    assert numbers == [ticket.number] and messages == 1  # the held e-mail of the same day

    after = everything_about(ticket)
    for trace in (PHONE, EMAIL, "acme.user", "acme.contact", "020 123 4567", "Anna de Vries"):
        assert trace.lower() not in after.lower(), trace
    assert not any(default_storage.exists(name) for name in files)
    assert cache.get_many(thumbnail_keys) == {}  # nor a thumbnail of them in the cache
    ticket.refresh_from_db()
    placeholder = ticket.reporter
    assert placeholder.username == f"anonymous-{ticket.organization_id}"
    assert not placeholder.is_active and not placeholder.has_usable_password()
    assert placeholder.email == "" and placeholder.membership.organization == ticket.organization
    assert ticket.description == services.removed_text()
    assert ticket.title == "Printer on floor 3 shows error E-42"  # staff history stays
    assert "[telefoonnummer]" not in ticket.resolution_cause  # the address was masked
    assert "[e-mailadres]" in ticket.resolution_cause
    updates = list(TicketUpdate.objects.filter(ticket=ticket).select_related("author"))
    customer_updates = [u for u in updates if u.author == placeholder]
    assert customer_updates and all(u.body == services.removed_text() for u in customer_updates)
    staff = [u for u in updates if u.author == users["agent"]]
    assert staff[0].body == "Called Anna on [telefoonnummer] and mailed [e-mailadres]."
    escalation = Escalation.objects.get(ticket=ticket, raised_by__isnull=True)
    assert escalation.reason == services.removed_text()
    assert not Attachment.objects.filter(ticket=ticket).exists()
    assert not Notification.objects.filter(ticket=ticket).exists()
    message.refresh_from_db()
    assert (message.from_address, message.body, message.raw, message.sender) == ("", "", "", None)
    # Who did what stays: the agent's entries are the agent's; the customers' the placeholder's.
    actors = set(AuditEntry.objects.filter(ticket=ticket).values_list("actor__username", flat=True))
    assert {"agent", placeholder.username} <= actors
    assert not actors & {"acme.user", "acme.contact"}
    # Audited: one event, and an entry in the ticket's own trail.
    event = PrivacyEvent.objects.get()
    assert event.action == PrivacyAction.ANONYMISED and event.via == "beat"
    assert event.details["tickets"] == [ticket.number]
    assert event.details["retention_days"] == settings.PERSONAL_DATA_RETENTION_DAYS
    assert AuditEntry.objects.filter(ticket=ticket, action="anonymised").count() == 1
    assert AnonymisedTicket.objects.get(ticket=ticket).event == event


def test_open_and_recent_tickets_are_untouched(history, django_capture_on_commit_callbacks):
    still_open, later = history["open"], history["later"]
    before = everything_about(still_open) + everything_about(later)
    with django_capture_on_commit_callbacks(execute=True):
        run(DUE + timedelta(days=300))  # the open one is years old, the later one not yet due
    assert everything_about(still_open) + everything_about(later) == before
    with django_capture_on_commit_callbacks(execute=True):
        numbers, _messages = run(later.closed_at + timedelta(days=731))
    assert numbers == [later.number]


def test_second_run_does_nothing(history, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run(DUE)
    after = everything_about(history["ticket"])
    with django_capture_on_commit_callbacks(execute=True):
        assert run(DUE + timedelta(days=1)) == ([], 0)
    assert everything_about(history["ticket"]) == after
    assert PrivacyEvent.objects.count() == 1


def test_the_held_email_goes_with_the_same_period(history, django_capture_on_commit_callbacks):
    held = history["held"]
    assert held.ticket is None and held.from_address == "jan@unknown-company.example"
    with django_capture_on_commit_callbacks(execute=True):
        run(DUE)
    held.refresh_from_db()
    assert (held.from_address, held.from_name, held.body, held.raw) == ("", "", "", "")
    assert held.attachments == [] and held.subject == services.removed_text()


def test_retention_days_come_from_the_setting(
    history, settings, django_capture_on_commit_callbacks
):
    settings.PERSONAL_DATA_RETENTION_DAYS = 30
    with django_capture_on_commit_callbacks(execute=True):
        numbers, _messages = run(CLOSED_AT + timedelta(days=31))
    assert numbers == [history["ticket"].number]


def test_beat_runs_the_task_daily(history, django_capture_on_commit_callbacks):
    entry = settings.CELERY_BEAT_SCHEDULE["privacy-retention"]
    assert entry["task"] == anonymise_expired.name == "privacy.tasks.anonymise_expired"
    with django_capture_on_commit_callbacks(execute=True), freeze_time(DUE):
        assert anonymise_expired.apply().get() == {"tickets": 1, "inbound_messages": 1}
    assert AnonymisedTicket.objects.filter(ticket=history["ticket"]).exists()


def test_management_command_dry_run_then_run(history, capsys, django_capture_on_commit_callbacks):
    with freeze_time(DUE):
        call_command("anonymise_personal_data", "--dry-run")
    out = capsys.readouterr().out
    assert "1 tickets and 1 e-mails due" in out and history["ticket"].number in out
    assert not PrivacyEvent.objects.exists()
    with django_capture_on_commit_callbacks(execute=True), freeze_time(DUE):
        call_command("anonymise_personal_data")
    assert "1 tickets and 1 e-mails anonymised" in capsys.readouterr().out
    assert PrivacyEvent.objects.get().via == "command"


def test_erasure_request_anonymises_closed_tickets_now_and_keeps_open_ones(
    history, users, capsys, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("anonymise_personal_data", "--user", "acme.user")
    out = capsys.readouterr().out
    assert "1 closed tickets and 0 e-mails anonymised" in out
    assert history["open"].number in out  # open: kept until it closes
    assert AnonymisedTicket.objects.filter(ticket=history["ticket"]).exists()
    assert not AnonymisedTicket.objects.filter(ticket=history["later"]).exists()  # acme.user2's
    event = PrivacyEvent.objects.get()
    assert event.action == PrivacyAction.ERASED and event.subject == users["acme.user"]
    assert event.details["open_tickets_kept"] == [history["open"].number]
    assert PHONE not in json.dumps(event.details)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bel 06-12345678 of 06 1234 5678", "Bel [telefoonnummer] of [telefoonnummer]"),
        ("+31 6 1234 5678 / 0031 20 123 4567", "[telefoonnummer] / [telefoonnummer]"),
        ("020-1234567, mail j.jansen+pim@acme.example", "[telefoonnummer], mail [e-mailadres]"),
        # technical text stays as it was
        ("INC-2026-00001 on 2026-11-25 10:00, 10.0.0.1:8080", None),
        ("Error 0x80070005 in build 20240304 (v1.2.3)", None),
    ],
)
def test_masking(text, expected):
    assert services.mask(text) == (expected or text)
