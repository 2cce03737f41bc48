"""The rules of SPEC §8, one validation for admin, pages and API (freezegun)."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from freezegun import freeze_time

from maintenance import rules, services
from maintenance.models import Kind, MaintenanceNotice, Status
from sla.models import Calendar, CalendarDate

from .conftest import NOW, at

pytestmark = pytest.mark.django_db


def refused(kind, start, hours=2, **kwargs):
    with freeze_time(NOW), pytest.raises(ValidationError) as info:
        rules.validate_notice(kind, start, start + timedelta(hours=hours), **kwargs)
    return " ".join(m for msgs in info.value.message_dict.values() for m in msgs)


def accepted(kind, start, hours=2, **kwargs):
    with freeze_time(NOW):
        rules.validate_notice(kind, start, start + timedelta(hours=hours), **kwargs)


def test_six_days_notice_is_refused_with_the_earliest_allowed_start():
    # announced Wednesday 25 November: Tuesday 1 December is 6 days ahead
    message = refused(Kind.PREVENTIVE, at(2026, 12, 1, 22, 0))
    assert "announced at least 7 days ahead" in message
    assert "the earliest allowed start is Wednesday 2 December 2026 00:00" in message
    accepted(Kind.PREVENTIVE, at(2026, 12, 2, 0, 0))  # exactly 7 calendar days


def test_adaptive_needs_the_same_notice():
    message = refused(Kind.ADAPTIVE, at(2026, 11, 30, 9, 0))
    assert message.startswith("Adaptive maintenance must be announced at least 7 days ahead")


def test_earliest_allowed_start_skips_the_weekend():
    # announced Sunday 29 November: 7 days later is Sunday 6 December → Monday 7 December
    with freeze_time(at(2026, 11, 29, 12, 0)), pytest.raises(ValidationError) as info:
        rules.validate_notice(Kind.PREVENTIVE, at(2026, 12, 3, 22, 0), at(2026, 12, 3, 23, 0))
    assert "the earliest allowed start is Monday 7 December 2026 00:00" in str(info.value)


def test_a_saturday_preventive_window_is_refused():
    message = refused(Kind.PREVENTIVE, at(2026, 12, 12, 1, 0))
    assert "only allowed Monday to Friday and not on Dutch public holidays" in message
    assert "Saturday 12 December 2026 is not a working day" in message
    assert "The earliest allowed start is Monday 14 December 2026 00:00" in message


def test_a_window_running_into_the_weekend_is_refused():
    message = refused(Kind.PREVENTIVE, at(2026, 12, 11, 22, 0), hours=4)  # Fri 22:00 → Sat 02:00
    assert "Saturday 12 December 2026 is not a working day" in message
    accepted(Kind.PREVENTIVE, at(2026, 12, 11, 22, 0), hours=2)  # ends at midnight: Friday only


def test_kings_day_preventive_window_is_refused():
    message = refused(Kind.PREVENTIVE, at(2027, 4, 27, 2, 0))  # Tuesday 27 April 2027
    assert "Tuesday 27 April 2027 is not a working day" in message
    assert "The earliest allowed start is Wednesday 28 April 2027 00:00" in message
    assert "Adaptive" in refused(Kind.ADAPTIVE, at(2027, 4, 27, 2, 0))


def test_christmas_and_a_closing_day_of_the_office_calendar_are_refused():
    assert "Friday 25 December 2026" in refused(Kind.PREVENTIVE, at(2026, 12, 25, 2, 0))
    accepted(Kind.PREVENTIVE, at(2026, 12, 9, 2, 0))
    # an admin closes Wednesday 9 December on the office calendar: the rule follows it
    office = Calendar.objects.get(name="Kantoortijden NL")
    CalendarDate.objects.create(calendar=office, date=date(2026, 12, 9), kind="closed")
    assert "Wednesday 9 December 2026 is not a working day" in refused(
        Kind.PREVENTIVE, at(2026, 12, 9, 2, 0)
    )


def test_emergency_on_sunday_without_notice_is_accepted(make_notice):
    accepted(Kind.EMERGENCY, at(2026, 11, 29, 3, 0))  # Sunday, 4 days ahead
    accepted(Kind.EMERGENCY, at(2026, 11, 25, 10, 30))  # right now
    notice = make_notice(start=at(2026, 11, 29, 3, 0), kind=Kind.EMERGENCY)
    assert notice.status == Status.SCHEDULED


def test_the_window_must_end_after_it_starts():
    with freeze_time(NOW), pytest.raises(ValidationError) as info:
        rules.validate_notice(Kind.EMERGENCY, at(2026, 12, 8, 2), at(2026, 12, 8, 2))
    assert info.value.message_dict == {"ends_at": ["The window must end after it starts."]}


def twelve_preventive_windows_in_2027(make_notice):
    days = [date(2027, m, 10) for m in range(1, 13)]
    days = [d if d.weekday() < 5 else d + timedelta(days=7 - d.weekday()) for d in days]
    return [make_notice(start=at(d.year, d.month, d.day, 1, 0), title=f"P{d}") for d in days]


def test_the_thirteenth_preventive_window_of_a_year_is_refused(make_notice):
    notices = twelve_preventive_windows_in_2027(make_notice)
    message = refused(Kind.PREVENTIVE, at(2027, 12, 14, 1, 0))
    assert "At most 12 preventive maintenance windows per calendar year" in message
    assert "2027 already has 12" in message
    assert "The earliest allowed start is Monday 3 January 2028 00:00" in message
    # adaptive and emergency maintenance are not counted, and 2028 has room
    accepted(Kind.ADAPTIVE, at(2027, 12, 14, 1, 0))
    accepted(Kind.PREVENTIVE, at(2028, 1, 3, 1, 0))
    # a cancelled window does not count
    with freeze_time(NOW):
        services.post_status_update(notices[0], notices[0].initiated_by, Status.CANCELLED)
    accepted(Kind.PREVENTIVE, at(2027, 12, 14, 1, 0))
    make_notice(start=at(2027, 12, 14, 1, 0))
    assert "2027 already has 12" in refused(Kind.PREVENTIVE, at(2027, 12, 15, 1, 0))


def test_changing_one_of_twelve_does_not_count_itself(make_notice, users):
    notices = twelve_preventive_windows_in_2027(make_notice)
    with freeze_time(NOW):
        services.update_notice(
            notices[5], users["agent"], starts_at=at(2027, 6, 15, 1), ends_at=at(2027, 6, 15, 2)
        )


def test_create_refuses_and_writes_nothing(users, acme):
    with freeze_time(NOW), pytest.raises(ValidationError):
        services.create_notice(
            users["agent"],
            kind=Kind.PREVENTIVE,
            title="Too soon",
            starts_at=at(2026, 11, 27, 1),
            ends_at=at(2026, 11, 27, 2),
            organizations=[acme],
        )
    assert not MaintenanceNotice.objects.exists()


def test_only_staff_announce(users, acme):
    with freeze_time(NOW), pytest.raises(PermissionDenied):
        services.create_notice(
            users["acme.contact"],
            kind=Kind.EMERGENCY,
            title="Mine",
            starts_at=at(2026, 11, 27, 1),
            ends_at=at(2026, 11, 27, 2),
            organizations=[acme],
        )


def test_scope_and_scenario_rules(users, acme, globex):
    base = {
        "kind": Kind.EMERGENCY,
        "title": "x",
        "starts_at": at(2026, 11, 27, 1),
        "ends_at": at(2026, 11, 27, 2),
    }
    with freeze_time(NOW):
        with pytest.raises(ValidationError) as info:
            services.create_notice(users["agent"], **base)
        assert "organizations" in info.value.message_dict
        with pytest.raises(ValidationError) as info:
            services.create_notice(
                users["agent"], organizations=[acme], services=[globex.services.first()], **base
            )
        assert "services" in info.value.message_dict
        with pytest.raises(ValidationError) as info:
            services.create_notice(users["agent"], organizations=[acme], impact="outage", **base)
        assert "emergency_scenario" in info.value.message_dict


def test_update_revalidates_and_bumps_the_sequence(make_notice, users):
    notice = make_notice(start=at(2026, 12, 8, 22, 0))
    assert notice.sequence == 0
    # four days before the window, a typo fix keeps the original announcement
    with freeze_time(at(2026, 12, 4, 9, 0)):
        notice = services.update_notice(notice, users["agent"], title="Core router firmware 2")
        assert notice.sequence == 1
        # … but moving the window is a new announcement: 7 days from now
        with pytest.raises(ValidationError) as info:
            services.update_notice(
                notice, users["agent"], starts_at=at(2026, 12, 9, 22), ends_at=at(2026, 12, 9, 23)
            )
        assert "the earliest allowed start is Friday 11 December 2026 00:00" in str(info.value)
    notice.refresh_from_db()
    assert notice.starts_at == at(2026, 12, 8, 22, 0) and notice.sequence == 1


def test_status_changes(make_notice, users):
    notice = make_notice()
    agent = users["agent"]
    with freeze_time(NOW):
        with pytest.raises(services.IllegalStatusChange):
            services.post_status_update(notice, agent, Status.COMPLETED)
        notice, _u = services.post_status_update(notice, agent, Status.IN_PROGRESS, "Started")
        notice, _u = services.post_status_update(notice, agent, Status.IN_PROGRESS, "Halfway")
        notice, _u = services.post_status_update(notice, agent, Status.COMPLETED, "Done")
        with pytest.raises(services.IllegalStatusChange):
            services.post_status_update(notice, agent, Status.CANCELLED)
        with pytest.raises(ValidationError):
            services.update_notice(notice, agent, title="Too late")
    assert notice.sequence == 3
    assert [(u.event, u.status) for u in notice.updates.all()] == [
        ("announced", "scheduled"),
        ("status", "in_progress"),
        ("message", "in_progress"),
        ("status", "completed"),
    ]
