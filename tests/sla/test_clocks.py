"""Per-ticket clocks derived from the ledger, through the ticket services (freezegun)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from sla import services as sla
from sla.calendars import business_calendar
from sla.models import Clock, ClockEvent
from tickets import services
from tickets.models import Status

AMS = ZoneInfo("Europe/Amsterdam")
pytestmark = pytest.mark.django_db


def at(*args):
    return datetime(*args, tzinfo=AMS)


def clocks(ticket):
    return {c.target: c for c in Clock.objects.filter(ticket=ticket)}


def file(users, reporter, priority, when, kind="incident"):
    with freeze_time(when):
        return services.create_ticket(
            actor=users[reporter],
            title="Down",
            description="All lines dead",
            priority=priority,
            kind=kind,
        )


def respond(ticket, users, when):
    with freeze_time(when):
        services.take(ticket, users["agent"])
    ticket.refresh_from_db()
    return ticket


# Response due times: (reporter, priority, registered, expected response due)
RESPONSE_CASES = [
    # office-hours contract: every priority on office hours (Wednesday 2026-11-25)
    ("acme.user", 1, at(2026, 11, 25, 10, 0), at(2026, 11, 25, 10, 30)),
    ("acme.user", 2, at(2026, 11, 25, 16, 30), at(2026, 11, 26, 8, 30)),
    ("acme.user", 3, at(2026, 11, 25, 16, 0), at(2026, 11, 26, 9, 0)),
    ("acme.user", 4, at(2026, 11, 25, 12, 0), at(2026, 11, 26, 9, 0)),
    # 24/7 contract: P1 and P2 around the clock, P3 and P4 on office hours
    ("globex.user", 1, at(2026, 11, 28, 23, 50), at(2026, 11, 29, 0, 20)),
    ("globex.user", 2, at(2026, 11, 28, 23, 30), at(2026, 11, 29, 0, 30)),
    ("globex.user", 3, at(2026, 11, 28, 23, 30), at(2026, 11, 30, 10, 0)),
    ("globex.user", 4, at(2026, 11, 27, 14, 0), at(2026, 11, 30, 11, 0)),
]


@pytest.mark.parametrize(("reporter", "priority", "registered", "due"), RESPONSE_CASES)
def test_response_due_per_priority_and_contract(
    contracts, users, reporter, priority, registered, due
):
    ticket = file(users, reporter, priority, registered)
    response = clocks(ticket)["response"]
    assert response.due_at == due
    assert response.state == "pending"
    assert clocks(ticket)["restore"].started_at is None  # starts at response


def test_p1_friday_1650_office_hours(contracts, users):
    ticket = file(users, "acme.user", 1, at(2026, 11, 27, 16, 50))
    c = clocks(ticket)
    assert c["response"].due_at == at(2026, 11, 30, 8, 20)  # 10 min Friday, 20 min Monday
    assert ticket.next_sla_check_at == c["response"].at_risk_at == at(2026, 11, 30, 8, 12, 30)


def test_p2_on_24_7_over_christmas(contracts, users):
    ticket = file(users, "globex.user", 2, at(2026, 12, 24, 22, 0))
    ticket = respond(ticket, users, at(2026, 12, 24, 22, 40))
    c = clocks(ticket)
    assert c["response"].state == "met"
    assert c["restore"].due_at == at(2026, 12, 25, 4, 40)  # 6 h, Christmas counts on 24/7
    assert c["resolution"].due_at == at(2026, 12, 25, 14, 40)  # 16 h


def test_p3_of_24_7_contract_runs_on_office_hours_over_christmas(contracts, users):
    ticket = file(users, "globex.user", 3, at(2026, 12, 24, 16, 0))
    # 1 h on 24 Dec, then 25 and 26 Dec (holidays) and the weekend are closed
    assert clocks(ticket)["response"].due_at == at(2026, 12, 28, 9, 0)


@pytest.mark.parametrize(
    ("registered", "expected_due"),
    [
        # spring forward 29 March 2026: Friday 16:00 P3 office hours → Monday 09:00 local
        (at(2026, 3, 27, 16, 0), at(2026, 3, 30, 9, 0)),
        # fall back 25 October 2026
        (at(2026, 10, 23, 16, 0), at(2026, 10, 26, 9, 0)),
    ],
)
def test_dst_weekends_office_hours(contracts, users, registered, expected_due):
    ticket = file(users, "acme.user", 3, registered)
    due = clocks(ticket)["response"].due_at
    assert due == expected_due
    assert due.astimezone(AMS).hour == 9


@pytest.mark.parametrize(
    ("registered", "expected_due_utc_hours"),
    [(at(2026, 3, 29, 1, 30), 1), (at(2026, 10, 25, 1, 30), 1)],
)
def test_dst_weekends_24_7_is_real_time(contracts, users, registered, expected_due_utc_hours):
    ticket = file(users, "globex.user", 2, registered)  # P2 response: 1 h real time
    due = clocks(ticket)["response"].due_at
    assert due - registered == timedelta(hours=expected_due_utc_hours)


def test_restore_and_resolution_start_at_response(contracts, users):
    ticket = file(users, "acme.user", 3, at(2026, 11, 25, 9, 0))
    ticket = respond(ticket, users, at(2026, 11, 25, 10, 30))
    c = clocks(ticket)
    assert c["restore"].started_at == at(2026, 11, 25, 10, 30)
    assert c["restore"].due_at == at(2026, 11, 26, 9, 30)  # 8 business hours from response
    assert c["resolution"].due_at == at(2026, 12, 2, 13, 30)  # 48 business hours


def test_pause_and_resume_move_due_by_paused_business_time(contracts, users):
    ticket = file(users, "acme.user", 3, at(2026, 11, 25, 9, 0))
    ticket = respond(ticket, users, at(2026, 11, 25, 9, 0))
    before = clocks(ticket)["restore"].due_at
    with freeze_time(at(2026, 11, 25, 11, 0)):
        services.transition(ticket, users["agent"], Status.WAITING_FOR_CUSTOMER)
    c = clocks(ticket)["restore"]
    assert c.paused and c.used_seconds == 2 * 3600
    # paused from Wednesday 11:00 until Thursday 10:00: 6 + 2 = 8 business hours
    with freeze_time(at(2026, 11, 26, 10, 0)):
        services.add_update(ticket, users["acme.user"], "Here is the information.")
    ticket.refresh_from_db()
    assert ticket.status == Status.RESPONSE_RECEIVED  # the customer's reply is their reaction
    after = clocks(ticket)["restore"]
    assert not after.paused
    calendar = business_calendar(after.calendar_id)
    paused = calendar.elapsed(at(2026, 11, 25, 11, 0), at(2026, 11, 26, 10, 0))
    assert paused == timedelta(hours=8)
    assert calendar.elapsed(before, after.due_at) == paused
    assert after.due_at == at(2026, 11, 26, 16, 0)


def test_planned_external_pauses_until_wish_date(contracts, users):
    ticket = file(users, "acme.user", 4, at(2026, 11, 25, 9, 0))
    ticket = respond(ticket, users, at(2026, 11, 25, 9, 0))
    with freeze_time(at(2026, 11, 25, 10, 0)):
        services.transition(
            ticket, users["agent"], Status.PLANNED_EXTERNAL, wish_date=at(2026, 11, 30, 8, 0)
        )
    c = clocks(ticket)["restore"]
    # 1 h used before the pause, 23 h left from Monday 08:00 → Wednesday 13:00
    assert c.due_at == at(2026, 12, 2, 13, 0)
    ticket.refresh_from_db()
    assert ticket.next_sla_check_at == at(2026, 11, 30, 8, 0)


def test_priority_change_recomputes_from_original_start(contracts, users):
    ticket = file(users, "acme.user", 3, at(2026, 11, 25, 9, 0))
    assert clocks(ticket)["response"].due_at == at(2026, 11, 25, 11, 0)
    with freeze_time(at(2026, 11, 25, 9, 10)):
        services.change_priority(ticket, users["agent"], 1, "Whole site cannot call")
    assert clocks(ticket)["response"].due_at == at(2026, 11, 25, 9, 30)
    ticket = respond(ticket, users, at(2026, 11, 25, 9, 20))
    assert clocks(ticket)["response"].state == "met"
    assert clocks(ticket)["restore"].due_at == at(2026, 11, 25, 13, 20)  # P1: 4 h
    kinds = list(ClockEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds == ["registered", "priority", "responded"]


def test_pause_survives_priority_change(contracts, users):
    """Paused time is never lost by a later priority change (GLPI #6902/#15605)."""
    ticket = file(users, "acme.user", 3, at(2026, 11, 25, 9, 0))
    ticket = respond(ticket, users, at(2026, 11, 25, 9, 0))
    with freeze_time(at(2026, 11, 25, 10, 0)):
        services.transition(ticket, users["agent"], Status.WAITING_FOR_CUSTOMER)
    with freeze_time(at(2026, 11, 25, 12, 0)):
        services.transition(ticket, users["agent"], Status.PLANNED_INTERNAL)
    with freeze_time(at(2026, 11, 25, 13, 0)):
        services.change_priority(ticket, users["agent"], 2, "More sites affected")
    # P2 restore 6 h from 09:00, plus the 2 h pause → 17:00
    assert clocks(ticket)["restore"].due_at == at(2026, 11, 25, 17, 0)
    with freeze_time(at(2026, 11, 25, 13, 0)):
        results = sla.recompute(ticket)
    assert {r.target: r.due_at for r in results}["restore"] == at(2026, 11, 25, 17, 0)


def test_breach_and_met_states(contracts, users):
    ticket = file(users, "acme.user", 1, at(2026, 11, 25, 9, 0))
    with freeze_time(at(2026, 11, 25, 9, 25)):
        assert {r.target: r.state for r in sla.compute(ticket)}["response"] == "at_risk"
    with freeze_time(at(2026, 11, 25, 9, 31)):
        assert {r.target: r.state for r in sla.compute(ticket)}["response"] == "breached"
    ticket = respond(ticket, users, at(2026, 11, 25, 9, 45))
    response = clocks(ticket)["response"]
    assert response.state == "breached" and response.used_seconds == 45 * 60


def test_no_access_interval_pauses(contracts, users):
    ticket = file(users, "acme.user", 3, at(2026, 11, 25, 9, 0))
    ticket = respond(ticket, users, at(2026, 11, 25, 9, 0))
    with freeze_time(at(2026, 11, 25, 15, 0)):
        sla.append_no_access(ticket, at(2026, 11, 25, 10, 0), at(2026, 11, 25, 11, 30))
    assert clocks(ticket)["restore"].due_at == at(2026, 11, 26, 9, 30)  # 8 h + 1.5 h


def test_change_pickup_targets(contracts, users):
    p1 = file(users, "acme.user", 1, at(2026, 11, 25, 10, 0), kind="change")
    assert clocks(p1)["pickup"].due_at == at(2026, 11, 25, 17, 0)  # same working day
    p3 = file(users, "acme.user", 3, at(2026, 11, 25, 10, 0), kind="change")
    assert clocks(p3)["pickup"].due_at == at(2026, 11, 30, 10, 0)  # 3 working days
    p2 = file(users, "acme.user", 2, at(2026, 11, 25, 10, 0), kind="change")
    assert clocks(p2)["pickup"].due_at == at(2026, 11, 26, 10, 0)  # 24 hours


def test_policy_edit_applies_to_new_tickets_only(contracts, users, policy):
    old = file(users, "acme.user", 3, at(2026, 11, 25, 9, 0))
    target = policy.targets.get(kind="incident", priority=3, target="response")
    target.amount = 60
    target.save()  # save(), not update(): the terms are cached until a save or delete
    new = file(users, "acme.user", 3, at(2026, 11, 25, 9, 0))
    with freeze_time(at(2026, 11, 25, 9, 5)):
        sla.recompute(old)
    assert clocks(old)["response"].due_at == at(2026, 11, 25, 11, 0)
    assert clocks(new)["response"].due_at == at(2026, 11, 25, 10, 0)


def test_calendar_correction_recomputes_open_tickets_only(contracts, users, policy):
    from sla.models import CalendarDate

    closed = file(users, "acme.user", 4, at(2026, 11, 26, 16, 0))
    open_ = file(users, "acme.user", 4, at(2026, 11, 26, 16, 0))
    closed = respond(closed, users, at(2026, 11, 26, 16, 30))
    with freeze_time(at(2026, 11, 26, 16, 40)):
        services.transition(
            closed,
            users["agent"],
            Status.RESOLVED,
            resolution={
                "resolution_type": "definitive",
                "resolution_cause": "x",
                "resolution_how": "y",
            },
        )
        services.confirm_resolution(closed, users["acme.user"])
    before_closed = clocks(closed)["resolution"].due_at
    assert clocks(open_)["response"].due_at == at(2026, 11, 27, 13, 0)
    CalendarDate.objects.create(calendar=policy.office_calendar, date=datetime(2026, 11, 27).date())
    with freeze_time(at(2026, 11, 26, 17, 0)):
        assert sla.recompute_open([policy.office_calendar_id]) == 1
    assert clocks(open_)["response"].due_at == at(2026, 11, 30, 13, 0)
    assert clocks(closed)["resolution"].due_at == before_closed


def test_follow_up_due_times(contracts, users):
    ticket = file(users, "acme.user", 1, at(2026, 11, 25, 9, 0))
    ticket = respond(ticket, users, at(2026, 11, 25, 9, 5))
    with freeze_time(at(2026, 11, 25, 10, 0)):
        services.transition(ticket, users["agent"], Status.WAITING_FOR_CUSTOMER)
    terms = ticket.sla_terms
    terms.refresh_from_db()
    assert terms.follow_up_due_at == at(2026, 11, 30, 10, 0)  # +3 working days
    with freeze_time(at(2026, 11, 25, 11, 0)):
        services.add_update(ticket, users["acme.user"], "Answer")
    terms.refresh_from_db()
    assert terms.follow_up_kind == "response_received"
    assert terms.follow_up_due_at == at(2026, 11, 27, 11, 0)  # 2 working days
    with freeze_time(at(2026, 11, 25, 12, 0)):
        services.transition(ticket, users["agent"], Status.WAITING_FOR_SUPPLIER)
    terms.refresh_from_db()
    assert terms.follow_up_due_at == at(2026, 11, 30, 12, 0)
    with freeze_time(at(2026, 11, 27, 12, 0)):
        services.transition(
            ticket,
            users["agent"],
            Status.RESOLVED,
            resolution={
                "resolution_type": "definitive",
                "resolution_cause": "x",
                "resolution_how": "y",
            },
        )
    terms.refresh_from_db()
    assert terms.pir_due_at == at(2026, 12, 4, 12, 0)  # PIR: 5 working days after a P1
