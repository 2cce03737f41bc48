from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from freezegun import freeze_time

from sla import services as sla_services
from sla.queries import compliance
from tickets import services
from tickets.models import Status

AMS = ZoneInfo("Europe/Amsterdam")
pytestmark = pytest.mark.django_db
RESOLUTION = {"resolution_type": "definitive", "resolution_cause": "c", "resolution_how": "h"}


def at(*a):
    return datetime(*a, tzinfo=AMS)


def incident(users, reporter, when, respond_after_min, resolve_after_min):
    from datetime import timedelta

    with freeze_time(when):
        t = services.create_ticket(actor=users[reporter], title="t", description="d", priority=3)
    with freeze_time(when + timedelta(minutes=respond_after_min)):
        services.take(t, users["agent"])
    with freeze_time(when + timedelta(minutes=respond_after_min + resolve_after_min)):
        services.transition(t, users["agent"], Status.RESOLVED, resolution=RESOLUTION)
    return t


def row(rows, org, target):
    return next(r for r in rows if r["organization"] == org and r["target"] == target)


def test_compliance_counts_and_average_restore(contracts, users):
    incident(users, "acme.user", at(2026, 11, 2, 9, 0), 30, 60)  # met, restore 60 min
    incident(users, "acme.user", at(2026, 11, 3, 9, 0), 30, 180)  # met, restore 180 min
    late = incident(users, "acme.user", at(2026, 11, 4, 9, 0), 200, 2 * 24 * 60)  # both breached
    with freeze_time(at(2026, 11, 30, 12, 0)):
        rows = compliance(users["csm"])
    response = row(rows, "Acme Zorg", "response")
    assert (response["count"], response["met"], response["breached"]) == (3, 2, 1)
    assert response["share_within_target"] == pytest.approx(66.7)
    restore = row(rows, "Acme Zorg", "restore")
    assert restore["met"] == 2 and restore["breached"] == 1  # 18 business hours > 8 h
    assert restore["average_restore_minutes"] == round((60 + 180 + 18 * 60) / 3)
    assert restore["average_goal_minutes"] == 240
    assert rows[0]["month"].astimezone(AMS).month == 11
    # "SLA not applicable" leaves the figures
    sla_services.set_sla_not_applicable(late, users["agent"], "No access to the premises")
    with freeze_time(at(2026, 11, 30, 12, 0)):
        rows = compliance(users["csm"])
    response = row(rows, "Acme Zorg", "response")
    assert (response["count"], response["breached"]) == (2, 0)


def test_compliance_is_one_query_and_tenant_scoped(contracts, users, django_assert_max_num_queries):
    incident(users, "acme.user", at(2026, 11, 2, 9, 0), 30, 60)
    incident(users, "globex.user", at(2026, 11, 2, 9, 0), 30, 60)
    with django_assert_max_num_queries(2):
        rows = compliance(users["acme.contact"])
    assert {r["organization"] for r in rows} == {"Acme Zorg"}
    assert {r["organization"] for r in compliance(users["director"])} == {
        "Acme Zorg",
        "Globex Logistics",
    }


def test_compliance_page_access(contracts, users, client):
    incident(users, "globex.user", at(2026, 11, 2, 9, 0), 30, 60)
    client.force_login(users["acme.contact"])
    page = client.get(reverse("sla-compliance"), {"since": "2026-01"})
    assert page.status_code == 200 and "Globex" not in page.content.decode()
    client.force_login(users["acme.user"])
    assert client.get(reverse("sla-compliance")).status_code == 404
    client.force_login(users["opsmanager"])
    page = client.get(reverse("sla-compliance"), {"since": "2026-01"})
    assert "Globex Logistics" in page.content.decode()
    # invalid filters are shown on the page as form errors (400), not silently ignored
    page = client.get(reverse("sla-compliance"), {"since": "garbage", "organization": "x"})
    assert page.status_code == 400
    assert set(page.context["form"].errors) == {"since", "organization"}
