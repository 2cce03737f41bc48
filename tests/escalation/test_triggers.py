"""The sweep, SLA events and the default escalation triggers of SPEC §5 (freezegun)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from escalation import acknowledge as escalation
from escalation.models import Escalation, MatrixRow, Notification, Trigger
from sla import services as sla_services
from sla.models import SlaEvent
from sla.sweep import sweep
from tickets import services
from tickets.models import Ticket

from .conftest import at

pytestmark = pytest.mark.django_db


def run_sweep(when):
    with freeze_time(when):
        return sweep()


def levels(ticket):
    return {e.trigger: e.level for e in Escalation.objects.filter(ticket=ticket)}


def take(ticket, user, when):
    with freeze_time(when):
        services.take(ticket, user)
    ticket.refresh_from_db()
    return ticket


def test_default_matrix_and_triggers_come_from_the_data_migration():
    rows = {r.level: r for r in MatrixRow.objects.all()}
    assert rows["low"].roles_for_tier(0) == ["agent", "oncall"]
    assert rows["low"].roles_for_tier(1) == ["csm"]
    assert rows["high"].roles_for_tier(2) == [
        "ops_director",
        "commercial_director",
        "general_director",
    ]
    assert rows["very_high"].roles_for_tier(0) == ["ops_director"]
    triggers = {t.code: (t.event, t.target, t.level) for t in Trigger.objects.all()}
    assert triggers["p1-registered"] == ("registered", "", "low")
    assert triggers["response-breached"] == ("breached", "response", "low")
    assert triggers["restore-at-risk"] == ("at_risk", "restore", "middle")
    assert triggers["restore-breached"] == ("breached", "restore", "high")
    assert triggers["resolution-breached"] == ("breached", "resolution", "very_high")


def test_registration_sends_the_receipt_and_p1_escalates_to_low_at_once(file_ticket, users):
    p3 = file_ticket(priority=3)
    receipt = Notification.objects.filter(ticket=p3, trigger="receipt")
    assert {(n.recipient.username, n.channel) for n in receipt} == {
        ("globex.user", "email"),
        ("globex.user", "in_app"),
    }
    assert not Escalation.objects.filter(ticket=p3).exists()

    p1 = file_ticket(priority=1)
    assert levels(p1) == {"p1-registered": "low"}
    owners = {
        n.recipient.username
        for n in Notification.objects.filter(ticket=p1, trigger="p1-registered", channel="email")
    }
    assert owners == {"agent", "oncall"}  # Service & Support, nobody assigned yet


def test_response_breached_escalates_to_low(file_ticket):
    ticket = file_ticket(priority=2, when=at(2026, 11, 25, 10, 0))  # 24/7: response due 11:00
    assert ticket.next_sla_check_at == at(2026, 11, 25, 10, 45)  # at risk at 75 %
    run_sweep(at(2026, 11, 25, 10, 46))
    assert set(SlaEvent.objects.filter(ticket=ticket).values_list("target", "kind")) == {
        ("response", "at_risk")
    }
    assert levels(ticket) == {}
    run_sweep(at(2026, 11, 25, 11, 1))
    assert ("response", "breached") in set(
        SlaEvent.objects.filter(ticket=ticket).values_list("target", "kind")
    )
    assert levels(ticket) == {"response-breached": "low"}


def test_restore_at_risk_middle_restore_breached_high_resolution_breached_very_high(
    file_ticket, users
):
    ticket = file_ticket(priority=2, when=at(2026, 11, 25, 10, 0))
    ticket = take(ticket, users["agent"], at(2026, 11, 25, 10, 10))  # restore 6 h, resolution 16 h
    run_sweep(at(2026, 11, 25, 14, 41))  # 4.5 h = 75 % of restore
    assert levels(ticket) == {"restore-at-risk": "middle"}
    middle = Escalation.objects.get(ticket=ticket, trigger="restore-at-risk")
    assert {n.recipient.username for n in middle.notifications.filter(channel="email")} == {"csm"}
    run_sweep(at(2026, 11, 25, 16, 11))
    assert levels(ticket)["restore-breached"] == "high"
    run_sweep(at(2026, 11, 26, 2, 11))
    assert levels(ticket)["resolution-breached"] == "very_high"


def test_a_late_sweep_records_at_risk_and_breached_and_escalates_both(file_ticket, users):
    ticket = file_ticket(priority=2, when=at(2026, 11, 25, 10, 0))
    ticket = take(ticket, users["agent"], at(2026, 11, 25, 10, 10))
    run_sweep(at(2026, 11, 25, 20, 0))  # the beat was down for hours
    assert levels(ticket) == {"restore-at-risk": "middle", "restore-breached": "high"}


def test_met_is_recorded(file_ticket, users):
    ticket = file_ticket(priority=2, when=at(2026, 11, 25, 10, 0))
    take(ticket, users["agent"], at(2026, 11, 25, 10, 5))
    run_sweep(at(2026, 11, 25, 14, 36))  # due next at the restore's at-risk moment
    assert SlaEvent.objects.filter(ticket=ticket, target="response", kind="met").exists()


def test_sweep_twice_creates_nothing_twice(file_ticket):
    ticket = file_ticket(priority=1, when=at(2026, 11, 25, 10, 0))
    run_sweep(at(2026, 11, 25, 10, 31))
    counts = (SlaEvent.objects.count(), Escalation.objects.count(), Notification.objects.count())
    Ticket.objects.filter(pk=ticket.pk).update(next_sla_check_at=at(2026, 11, 25, 10, 0))
    run_sweep(at(2026, 11, 25, 10, 31))
    run_sweep(at(2026, 11, 25, 10, 32))
    assert (
        SlaEvent.objects.count(),
        Escalation.objects.count(),
        Notification.objects.count(),
    ) == counts


def test_sweep_moves_next_check_past_now_and_evaluates_each_ticket_once(file_ticket):
    tickets = [file_ticket(priority=3, when=at(2026, 11, 25, 9, 0)) for _ in range(7)]
    result = run_sweep(at(2026, 11, 25, 12, 0))
    assert result.evaluated == 7
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.next_sla_check_at is None or ticket.next_sla_check_at > at(2026, 11, 25, 12)
    assert run_sweep(at(2026, 11, 25, 12, 0)).evaluated == 0


def test_sweep_batches(file_ticket):
    for _ in range(5):
        file_ticket(priority=3, when=at(2026, 11, 25, 9, 0))
    with freeze_time(at(2026, 11, 25, 12, 0)):
        result = sweep(batch_size=2)
    assert result.evaluated == 5
    assert result.batches == 3


def test_sla_not_applicable_does_not_escalate(file_ticket, users):
    ticket = file_ticket(priority=2, when=at(2026, 11, 25, 10, 0))
    sla_services.set_sla_not_applicable(ticket, users["agent"], "No access")
    run_sweep(at(2026, 11, 25, 11, 5))
    assert levels(ticket) == {}


def test_priority_change_to_p1_starts_the_escalation_at_the_next_sweep(file_ticket, users):
    ticket = file_ticket(priority=3, when=at(2026, 11, 25, 10, 0))
    with freeze_time(at(2026, 11, 25, 10, 5)):
        services.change_priority(ticket, users["agent"], 1, "Whole site down")
    ticket.refresh_from_db()
    assert ticket.next_sla_check_at <= at(2026, 11, 25, 10, 5, 1)
    run_sweep(at(2026, 11, 25, 10, 6))
    assert levels(ticket) == {"p1-registered": "low"}


def test_inactive_trigger_does_not_fire(file_ticket):
    trigger = Trigger.objects.get(code="p1-registered")
    trigger.active = False
    trigger.save()  # save(), not update(): the active triggers are cached until a save
    ticket = file_ticket(priority=1)
    assert levels(ticket) == {}


def test_deputy_fallback_and_acknowledgement(file_ticket, users, settings):
    settings.ESCALATION_DEPUTY_MINUTES = 30
    ticket = file_ticket(priority=2, when=at(2026, 11, 25, 10, 0))
    ticket = take(ticket, users["agent"], at(2026, 11, 25, 10, 10))
    run_sweep(at(2026, 11, 25, 14, 41))
    esc = Escalation.objects.get(ticket=ticket, trigger="restore-at-risk")
    assert esc.tier == 0 and esc.next_deputy_at == at(2026, 11, 25, 15, 11)  # notified + 30

    run_sweep(at(2026, 11, 25, 15, 12))
    esc.refresh_from_db()
    assert esc.tier == 1
    got = {n.recipient.username for n in esc.notifications.filter(channel="email")}
    assert got == {"csm", "opsmanager"}  # owner, then the 1st deputy

    run_sweep(at(2026, 11, 25, 15, 43))
    esc.refresh_from_db()
    assert esc.tier == 2 and esc.next_deputy_at is None
    assert {n.recipient.username for n in esc.notifications.filter(channel="email")} == {
        "csm",
        "opsmanager",
        "director",
    }
    # Nobody further; acknowledging stops it, twice is a no-op.
    escalation.acknowledge(esc, users["director"])
    escalation.acknowledge(esc, users["director"])
    esc.refresh_from_db()
    assert esc.acknowledged_by == users["director"]


def test_acknowledged_in_time_no_deputy(file_ticket, users):
    ticket = file_ticket(priority=1, when=at(2026, 11, 25, 10, 0))
    esc = Escalation.objects.get(ticket=ticket)
    with freeze_time(at(2026, 11, 25, 10, 5)):
        escalation.acknowledge(esc, users["oncall"])
    run_sweep(at(2026, 11, 25, 10, 45))
    esc.refresh_from_db()
    assert esc.tier == 0 and esc.next_deputy_at is None
    assert not esc.notifications.filter(recipient=users["csm"]).exists()


def test_only_recipients_acknowledge(file_ticket, users):
    ticket = file_ticket(priority=1)
    esc = Escalation.objects.get(ticket=ticket)
    from django.core.exceptions import PermissionDenied

    for name in ("director", "globex.contact"):
        with pytest.raises(PermissionDenied):
            escalation.acknowledge(esc, users[name])
    escalation.acknowledge(esc, users["admin"])


def test_assignee_owns_low(file_ticket, users):
    ticket = file_ticket(priority=2, when=at(2026, 11, 25, 10, 0))
    with freeze_time(at(2026, 11, 25, 10, 1)):
        services.update_ticket(ticket, users["agent"], assignee=users["oncall"])
    # Assigning is the response: breach the response of another ticket instead.
    ticket2 = file_ticket(priority=2, when=at(2026, 11, 25, 10, 0))
    Ticket.objects.filter(pk=ticket2.pk).update(assignee=users["oncall"])
    run_sweep(at(2026, 11, 25, 11, 1) + timedelta(minutes=1))
    esc = Escalation.objects.get(ticket=ticket2, trigger="response-breached")
    assert {n.recipient.username for n in esc.notifications.all()} == {"oncall"}


def test_a_broken_ticket_does_not_stop_the_sweep(file_ticket, monkeypatch):
    from sla import services as sla_services

    good = file_ticket(priority=2, when=at(2026, 11, 25, 10, 0))
    bad = file_ticket(priority=2, when=at(2026, 11, 25, 10, 0))
    compute = sla_services.compute

    def flaky(ticket, *args, **kwargs):
        if ticket.pk == bad.pk:
            raise RuntimeError("corrupt ledger")
        return compute(ticket, *args, **kwargs)

    monkeypatch.setattr(sla_services, "compute", flaky)
    result = run_sweep(at(2026, 11, 25, 11, 1))
    assert result.evaluated == 2
    assert levels(good) == {"response-breached": "low"}
    bad.refresh_from_db()
    assert bad.next_sla_check_at == at(2026, 11, 25, 11, 2)  # looked at again next minute


def test_sweep_queries_do_not_grow_with_the_due_tickets(file_ticket):
    """A batch reads and writes in bulk, and what the apps above need per SLA event (the
    ticket's ledger, calendars, webhook endpoints) comes with the batch: the same queries for
    2 due tickets as for 6."""

    def sweep_at_risk(n):
        for _ in range(n):
            file_ticket(priority=3, when=at(2026, 11, 25, 9, 0))
        with CaptureQueriesContext(connection) as ctx:
            result = run_sweep(at(2026, 11, 25, 10, 45))  # the response clocks are at risk
        assert result.evaluated == n
        assert len(result.events) == n
        return len(ctx.captured_queries)

    sweep_at_risk(1)  # the first sweep builds the calendar and learns about webhook endpoints
    assert sweep_at_risk(2) == sweep_at_risk(6)
