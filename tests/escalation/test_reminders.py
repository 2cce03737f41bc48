"""Reminders and automatic rules of SPEC §3.2 / §3.3, driven by the sweep (freezegun)."""

import pytest
from freezegun import freeze_time

from escalation.models import Notification
from sla.models import TicketSla
from sla.sweep import sweep
from tickets import services
from tickets.models import Status, TicketUpdate

from .conftest import at

pytestmark = pytest.mark.django_db

RESOLUTION = {
    "resolution_type": "definitive",
    "resolution_cause": "Broken card",
    "resolution_how": "Replaced it",
}


def run_sweep(when):
    with freeze_time(when):
        return sweep()


def act(when, fn, *args, **kwargs):
    with freeze_time(when):
        result = fn(*args, **kwargs)
    return result


def reminders(ticket, rule, channel="email"):
    return list(
        Notification.objects.filter(
            ticket=ticket, template="reminder", context__rule=rule, channel=channel
        ).select_related("recipient")
    )


def recipients(ticket, rule):
    return sorted(n.recipient.username for n in reminders(ticket, rule))


@pytest.mark.parametrize(("priority", "minutes"), [(1, 30), (2, 60)])
def test_update_reminders_p1_every_30_p2_every_60_minutes(file_ticket, users, priority, minutes):
    ticket = file_ticket(priority=priority, when=at(2026, 11, 25, 10, 0))
    act(at(2026, 11, 25, 10, 5), services.take, ticket, users["oncall"])
    ticket.refresh_from_db()
    first = at(2026, 11, 25, 10, 5 + minutes) if minutes < 55 else at(2026, 11, 25, 11, 5)
    assert ticket.next_sla_check_at == first
    run_sweep(first.replace(second=30))
    assert recipients(ticket, "update") == ["oncall"]
    run_sweep(first.replace(second=40))  # again, same minute: nothing new
    assert len(reminders(ticket, "update")) == 1
    # A public update resets the interval.
    upd = at(2026, 11, 25, 10, 5 + minutes, 50) if minutes < 55 else at(2026, 11, 25, 11, 5, 50)
    act(upd, services.add_update, ticket, users["oncall"], "Engineer on site")
    ticket.refresh_from_db()
    run_sweep(upd.replace(second=59))
    assert len(reminders(ticket, "update")) == 1
    with freeze_time(upd):
        from datetime import timedelta

        later = upd + timedelta(minutes=minutes, seconds=5)
    run_sweep(later)
    assert len(reminders(ticket, "update")) == 2


def test_no_update_reminders_for_p3_or_while_waiting_for_the_customer(file_ticket, users):
    p3 = file_ticket(priority=3, when=at(2026, 11, 25, 10, 0))
    act(at(2026, 11, 25, 10, 5), services.take, p3, users["agent"])
    run_sweep(at(2026, 11, 25, 16, 0))
    assert reminders(p3, "update") == []
    p1 = file_ticket(priority=1, when=at(2026, 11, 25, 10, 0))
    act(at(2026, 11, 25, 10, 5), services.take, p1, users["agent"])
    act(at(2026, 11, 25, 10, 6), services.transition, p1, users["agent"], "waiting_for_customer")
    run_sweep(at(2026, 11, 25, 10, 40))
    assert reminders(p1, "update") == []


def test_waiting_for_customer_reminds_moves_the_deadline_then_closes(file_ticket, users):
    ticket = file_ticket(reporter="acme.user", priority=3, when=at(2026, 11, 25, 10, 0))
    act(at(2026, 11, 25, 10, 5), services.take, ticket, users["agent"])
    act(at(2026, 11, 25, 10, 10), services.transition, ticket, users["agent"],
        "waiting_for_customer", note="Which extension?")  # fmt: skip
    terms = TicketSla.objects.get(ticket=ticket)
    assert terms.follow_up_due_at == at(2026, 11, 30, 10, 10)  # 3 working days
    run_sweep(at(2026, 11, 30, 10, 9))
    assert reminders(ticket, "waiting_for_customer") == []
    run_sweep(at(2026, 11, 30, 10, 11))
    assert recipients(ticket, "waiting_for_customer") == ["acme.user"]
    terms.refresh_from_db()
    assert terms.follow_up_due_at == at(2026, 12, 3, 10, 10)  # +3 working days
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_FOR_CUSTOMER
    assert ticket.next_sla_check_at == at(2026, 12, 3, 10, 10)

    run_sweep(at(2026, 12, 3, 10, 11))
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    note = TicketUpdate.objects.filter(ticket=ticket).order_by("-pk").first()
    assert note.author is None and note.visibility == "public"
    assert "open a new ticket" in note.body  # acme.user reads English
    assert recipients(ticket, "closed_no_reaction") == ["acme.user"]


def test_a_customer_reaction_stops_the_silence_rule(file_ticket, users):
    ticket = file_ticket(reporter="acme.user", priority=3, when=at(2026, 11, 25, 10, 0))
    act(at(2026, 11, 25, 10, 5), services.take, ticket, users["agent"])
    act(at(2026, 11, 25, 10, 10), services.transition, ticket, users["agent"],
        "waiting_for_customer")  # fmt: skip
    run_sweep(at(2026, 11, 30, 10, 11))
    act(at(2026, 12, 1, 9, 0), services.add_update, ticket, users["acme.user"], "Extension 12")
    ticket.refresh_from_db()
    assert ticket.status == Status.RESPONSE_RECEIVED
    # Response received: the assignee is reminded after 2 working days.
    assert TicketSla.objects.get(ticket=ticket).follow_up_due_at == at(2026, 12, 3, 9, 0)
    run_sweep(at(2026, 12, 3, 9, 1))
    ticket.refresh_from_db()
    assert ticket.status == Status.RESPONSE_RECEIVED
    assert recipients(ticket, "response_received") == ["agent"]
    run_sweep(at(2026, 12, 4, 9, 1))
    assert recipients(ticket, "response_received") == ["agent"]


def test_waiting_for_supplier_reminds_the_agent_and_updates_the_customer(file_ticket, users):
    ticket = file_ticket(reporter="acme.user", priority=3, when=at(2026, 11, 25, 10, 0))
    act(at(2026, 11, 25, 10, 5), services.take, ticket, users["agent"])
    act(at(2026, 11, 25, 10, 10), services.transition, ticket, users["agent"],
        "waiting_for_supplier")  # fmt: skip
    run_sweep(at(2026, 11, 30, 10, 11))
    assert recipients(ticket, "waiting_for_supplier") == ["agent"]
    update = TicketUpdate.objects.filter(ticket=ticket, author__isnull=True).get()
    assert update.visibility == "public" and "supplier" in update.body
    terms = TicketSla.objects.get(ticket=ticket)
    assert terms.follow_up_due_at == at(2026, 12, 3, 10, 10)
    run_sweep(at(2026, 12, 3, 10, 11))  # and again every 3 working days
    assert len(reminders(ticket, "waiting_for_supplier")) == 2


def test_resolved_closes_after_the_configured_working_days(file_ticket, users, settings):
    settings.AUTO_CLOSE_WORKING_DAYS = 5
    ticket = file_ticket(reporter="acme.user", priority=3, when=at(2026, 11, 25, 10, 0))
    act(at(2026, 11, 25, 10, 5), services.take, ticket, users["agent"])
    act(at(2026, 11, 25, 10, 30), services.transition, ticket, users["agent"], "resolved",
        resolution=RESOLUTION)  # fmt: skip
    ticket.refresh_from_db()
    assert ticket.next_sla_check_at == at(2026, 12, 2, 10, 30)
    run_sweep(at(2026, 12, 2, 10, 29))
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    run_sweep(at(2026, 12, 2, 10, 31))
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_auto_close_days_are_configurable(file_ticket, users, settings):
    settings.AUTO_CLOSE_WORKING_DAYS = 2
    ticket = file_ticket(reporter="acme.user", priority=3, when=at(2026, 11, 25, 10, 0))
    act(at(2026, 11, 25, 10, 5), services.take, ticket, users["agent"])
    act(at(2026, 11, 25, 10, 30), services.transition, ticket, users["agent"], "resolved",
        resolution=RESOLUTION)  # fmt: skip
    run_sweep(at(2026, 11, 27, 10, 31))
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_pir_reminders_until_filed(file_ticket, users):
    ticket = file_ticket(reporter="acme.user", priority=1, when=at(2026, 11, 25, 10, 0))
    act(at(2026, 11, 25, 10, 5), services.take, ticket, users["agent"])
    act(at(2026, 11, 25, 11, 0), services.transition, ticket, users["agent"], "resolved",
        resolution=RESOLUTION)  # fmt: skip
    terms = TicketSla.objects.get(ticket=ticket)
    assert terms.pir_due_at == at(2026, 12, 2, 11, 0)
    run_sweep(at(2026, 12, 2, 11, 1))
    assert recipients(ticket, "pir") == ["agent"]
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED  # auto-closed the same day; PIR still due
    assert ticket.next_sla_check_at == at(2026, 12, 3, 11, 0)  # every working day
    run_sweep(at(2026, 12, 3, 11, 1))
    assert len(reminders(ticket, "pir")) == 2
    TicketSla.objects.filter(ticket=ticket).update(pir_filed_at=at(2026, 12, 3, 12, 0))
    run_sweep(at(2026, 12, 4, 11, 1))
    assert len(reminders(ticket, "pir")) == 2
