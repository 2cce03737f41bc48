"""Maintenance minutes per organisation and service in a period (for availability, SPEC §9)."""

import pytest
from freezegun import freeze_time

from maintenance import services
from maintenance.models import Kind, Status
from maintenance.queries import maintenance_intervals, maintenance_minutes

from .conftest import NOW, at

pytestmark = pytest.mark.django_db


def test_minutes_are_clipped_merged_and_skip_cancelled(make_notice, acme, globex, users):
    telefonie = acme.services.get()
    internet = acme.services.create(name="Internet", code="internet")
    datacenter = globex.services.get()
    # acme, all services: Tue 8 Dec 22:00–Wed 00:00 (crosses the period end below)
    make_notice(start=at(2026, 12, 8, 22, 0), organizations=[acme])
    # acme Telefonie only, overlapping the first: 23:00–01:00 (emergency may run past midnight)
    make_notice(start=at(2026, 12, 8, 23, 0), hours=2, kind=Kind.EMERGENCY, services=[telefonie])
    # both organisations, Datacenter only for globex (acme: all services): Mon 7 Dec 10:00–10:30
    make_notice(
        start=at(2026, 12, 7, 10, 0),
        hours=0.5,
        kind=Kind.ADAPTIVE,
        organizations=[acme, globex],
        services=[datacenter],
    )
    cancelled = make_notice(start=at(2026, 12, 10, 1, 0), hours=3, organizations=[globex])
    with freeze_time(NOW):
        services.post_status_update(cancelled, users["agent"], Status.CANCELLED)

    start, end = at(2026, 12, 1), at(2026, 12, 9, 0, 30)
    minutes = maintenance_minutes(start, end)
    assert minutes == {
        (acme.pk, telefonie.pk): 30 + 120 + 30,  # 22:00–00:30 merged, plus the adaptive half hour
        (acme.pk, internet.pk): 30 + 120,
        (globex.pk, datacenter.pk): 30,
    }
    intervals = maintenance_intervals(start, end)
    assert intervals[(acme.pk, telefonie.pk)] == [
        (at(2026, 12, 7, 10, 0), at(2026, 12, 7, 10, 30)),
        (at(2026, 12, 8, 22, 0), at(2026, 12, 9, 0, 30)),
    ]
    assert maintenance_minutes(start, end, organizations=[globex]) == {
        (globex.pk, datacenter.pk): 30
    }
    assert maintenance_minutes(at(2027, 1, 1), at(2027, 2, 1)) == {}


def test_all_organisations_and_organisations_without_services(make_notice, acme, globex):
    empty = type(acme).objects.create(name="Initech", slug="initech")
    make_notice(start=at(2026, 12, 8, 1, 0), hours=1, all_organizations=True)
    minutes = maintenance_minutes(at(2026, 12, 1), at(2027, 1, 1))
    assert minutes == {
        (acme.pk, acme.services.get().pk): 60,
        (globex.pk, globex.services.get().pk): 60,
        (empty.pk, None): 60,
    }


def test_windows_are_the_actual_ones_where_recorded(make_notice, acme, users):
    telefonie = acme.services.get()
    # planned Tue 8 Dec 22:00–23:00; in fact started at 22:30 and completed 9 Dec 01:15
    late = make_notice(start=at(2026, 12, 8, 22, 0), hours=1)
    services.post_status_update(
        late, users["agent"], Status.IN_PROGRESS, now=at(2026, 12, 8, 22, 30)
    )
    services.post_status_update(late, users["agent"], Status.COMPLETED, now=at(2026, 12, 9, 1, 15))
    late.refresh_from_db()
    assert (late.started_at, late.completed_at) == (at(2026, 12, 8, 22, 30), at(2026, 12, 9, 1, 15))
    # started, not completed yet: from the actual start to the planned end
    running = make_notice(start=at(2026, 12, 10, 9, 0), hours=2)
    services.post_status_update(
        running, users["agent"], Status.IN_PROGRESS, now=at(2026, 12, 10, 9, 20)
    )
    intervals = maintenance_intervals(at(2026, 12, 1), at(2027, 1, 1))
    assert intervals[(acme.pk, telefonie.pk)] == [
        (at(2026, 12, 8, 22, 30), at(2026, 12, 9, 1, 15)),
        (at(2026, 12, 10, 9, 20), at(2026, 12, 10, 11, 0)),
    ]
    # the actual window reaches into a period the planned one does not
    assert maintenance_intervals(at(2026, 12, 9), at(2026, 12, 10)) == {
        (acme.pk, telefonie.pk): [(at(2026, 12, 9), at(2026, 12, 9, 1, 15))]
    }
