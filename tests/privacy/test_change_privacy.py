"""Change requests under the privacy rules (issue 16 with the AVG/GDPR work): a change's texts
are in the personal-data export and are anonymised by retention like an incident's."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from changes import services as change_services
from changes.models import ChangeApproval, ChangeRequest
from privacy import services
from privacy.export import export_person
from tests.privacy.conftest import EMAIL, PHONE
from tickets import participation
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
FILED = datetime(2024, 3, 4, 10, 0, tzinfo=AMS)


@pytest.fixture
def change_ticket(users, contracts):
    """acme.user's change with her number and address in it, classified medium by the agent
    (his reason quoting her number), approved by acme.contact with a note, done and closed."""
    agent = users["agent"]
    with freeze_time(FILED):
        ticket = ticket_services.create_ticket(
            actor=users["acme.user"], kind="change", title="Extension for Anna",
            description=f"Call me on {PHONE}", priority=3,
        )  # fmt: skip
        change_services.describe(ticket, users["acme.user"], why=f"Anna ({EMAIL}) starts Monday")
        change_services.act(
            ticket, agent, "classify", {"type": "medium", "reason": f"Agreed with {PHONE}"}
        )
        change_services.act(ticket, users["acme.contact"], "approve", {"note": f"Ring {PHONE}"})
    with freeze_time(FILED + timedelta(hours=1)):
        window = {"planned_start": FILED + timedelta(hours=2)}
        window["planned_end"] = FILED + timedelta(hours=3)
        change_services.act(ticket, agent, "plan", window)
    with freeze_time(FILED + timedelta(hours=2)):
        change_services.act(ticket, agent, "start", {})
        change_services.act(ticket, agent, "complete", {"note": "Done"})
        ticket.refresh_from_db()
        ticket_services.confirm_resolution(ticket, users["acme.user"])
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    return ticket


def test_the_export_holds_the_change_and_the_decisions(change_ticket, users):
    data = export_person(users["acme.user"], via="command")
    (reported,) = data["reported_tickets"]
    assert reported["change"]["why"] == f"Anna ({EMAIL}) starts Monday"
    assert reported["change"]["stage"] == "closed"
    contact = export_person(users["acme.contact"], via="command")
    (decision,) = contact["change_decisions"]
    assert decision["ticket"] == change_ticket.number
    assert (decision["what"], decision["decision"], decision["side"]) == (
        "change",
        "approved",
        "customer",
    )
    assert PHONE in decision["note"]


def test_retention_removes_the_requesters_words_and_masks_the_providers(
    change_ticket, users, django_capture_on_commit_callbacks
):
    with (
        freeze_time(change_ticket.closed_at + timedelta(days=731)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        numbers, _ = services.anonymise_expired()
    assert change_ticket.number in numbers
    change = ChangeRequest.objects.get(ticket=change_ticket)
    assert change.why == services.removed_text()
    assert PHONE not in change.type_reason and "Agreed with" in change.type_reason
    (approval,) = ChangeApproval.objects.filter(change=change)
    assert approval.by.username.startswith("anonymous-")
    assert approval.note == services.removed_text()
    assert EMAIL not in str(export_person(users["acme.contact"], via="command"))


def test_a_withdrawn_changes_reason_is_the_customers_and_goes(
    users, contracts, django_capture_on_commit_callbacks
):
    with freeze_time(FILED):
        ticket = ticket_services.create_ticket(
            actor=users["acme.user"], kind="change", title="t", description="d", priority=3
        )
        participation.withdraw(ticket, users["acme.user"], f"Not needed, call {PHONE}")
    assert PHONE in ChangeRequest.objects.get(ticket=ticket).cancel_reason
    with (
        freeze_time(FILED + timedelta(days=731)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.anonymise_expired()
    assert ChangeRequest.objects.get(ticket=ticket).cancel_reason == services.removed_text()
