"""The progress reminder of a large change in progress (issue 16: "in progress with progress
updates (an interval reminder)"): through escalation's reminders machinery, counted in the
organisation's working days from the start or the last public progress update."""

import pytest
from freezegun import freeze_time

from escalation.models import Notification
from sla.sweep import sweep
from tickets.models import Ticket

from .conftest import at

NOW = at(2026, 11, 25, 11, 0)  # Wednesday
PLAN = {"planned_start": "2026-11-25T12:00", "planned_end": "2026-12-18T17:00"}


@pytest.fixture
def take(api, users):
    def _take(ticket, who, when=NOW, **data):
        with freeze_time(when):
            response = api(users[who]).post(
                f"/api/v1/tickets/{ticket.pk}/change/", data, format="json"
            )
        assert response.status_code == 200, response.content
        return response.json()["change"]

    return _take


def started(file_change, take, type_="large"):
    ticket = file_change("acme.user")
    take(ticket, "agent", action="classify", type=type_, reason="Project")
    take(ticket, "agent", action="quote", free=False, amount="25000")
    take(ticket, "acme.contact", action="approve")
    if type_ == "large":
        take(ticket, "csm", action="provider_approve")
    take(ticket, "agent", action="plan", **PLAN)
    take(ticket, "agent", action="start")
    return ticket


def reminders(ticket):
    return list(
        Notification.objects.filter(
            ticket=ticket, template="change_staff", context__step="progress_due", channel="email"
        )
        .order_by("pk")
        .values_list("recipient__username", "trigger")
    )


def sweep_at(*moment):
    with freeze_time(at(*moment)):
        sweep()


def test_no_progress_for_five_working_days_reminds_the_assignee_once_per_interval(
    file_change, take
):
    ticket = started(file_change, take)
    # five working days from Wednesday 11:00: the next Wednesday 11:00 (the weekend skipped)
    assert Ticket.objects.get(pk=ticket.pk).next_sla_check_at == at(2026, 12, 2, 11, 0)
    sweep_at(2026, 12, 2, 10, 59)
    assert reminders(ticket) == []
    sweep_at(2026, 12, 2, 11, 1)
    sweep_at(2026, 12, 2, 11, 30)  # the same interval: not again
    assert [who for who, _trigger in reminders(ticket)] == ["agent"]  # took it when classifying
    sweep_at(2026, 12, 9, 11, 1)  # still no progress: the next interval
    assert len(reminders(ticket)) == 2


def test_a_progress_update_restarts_the_interval(file_change, take):
    ticket = started(file_change, take)
    take(ticket, "agent", when=at(2026, 12, 1, 9, 0), action="progress", note="Phase 1 done")
    assert Ticket.objects.get(pk=ticket.pk).next_sla_check_at == at(2026, 12, 8, 9, 0)
    sweep_at(2026, 12, 2, 11, 1)
    assert reminders(ticket) == []
    sweep_at(2026, 12, 8, 9, 1)
    assert len(reminders(ticket)) == 1


def test_the_interval_is_configurable_and_holidays_do_not_count(file_change, take, settings):
    settings.CHANGE_PROGRESS_INTERVAL_WORKING_DAYS = 2
    ticket = started(file_change, take)
    take(ticket, "agent", when=at(2026, 12, 23, 10, 0), action="progress", note="Before Xmas")
    # Thursday 24 (1), Christmas 25-26 and the weekend skipped, Monday 28 (2)
    sweep_at(2026, 12, 28, 9, 59)
    assert reminders(ticket) == []
    sweep_at(2026, 12, 28, 10, 1)
    assert len(reminders(ticket)) == 1


def test_a_medium_change_or_a_completed_one_gets_no_progress_reminder(file_change, take):
    medium = started(file_change, take, type_="medium")
    large = started(file_change, take)
    take(large, "agent", when=at(2026, 11, 26, 9, 0), action="complete", note="Done")
    sweep_at(2026, 12, 10, 12, 0)
    assert reminders(medium) == [] and reminders(large) == []


def test_the_reminder_is_worded_for_a_change_in_the_recipients_language(file_change, take, users):
    from escalation.delivery import render_email

    users["agent"].language = "nl"
    users["agent"].save()
    ticket = started(file_change, take)
    sweep_at(2026, 12, 2, 11, 1)
    notification = Notification.objects.get(
        ticket=ticket, context__step="progress_due", channel="email"
    )
    message = render_email(notification)
    assert ticket.number in message.subject
    assert "voortgang" in message.subject.lower() and "5 werkdagen" in message.body
