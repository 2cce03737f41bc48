"""The maintenance API (DESIGN §5): scope, filters, staff writes, rule errors, subscriptions."""

import pytest
from freezegun import freeze_time

from escalation.models import Notification
from maintenance.models import MaintenanceNotice, Status, Subscription

from .conftest import NOW, at

pytestmark = pytest.mark.django_db

BASE = "/api/v1/maintenance/"


@pytest.fixture
def notices(make_notice, acme, globex):
    both = make_notice(
        organizations=[acme, globex],
        services=[acme.services.get(), globex.services.get()],
        title="Shared core upgrade",
        start=at(2026, 12, 10, 1),
    )
    return {
        "acme": make_notice(organizations=[acme], title="Acme switch swap"),
        "globex": make_notice(organizations=[globex], title="Globex secret window"),
        "both": both,
    }


def titles(response):
    assert response.status_code == 200, response.content
    return sorted(r["title"] for r in response.json()["results"])


def test_customers_list_their_organisations_notices_only(api, users, notices, acme, globex):
    client = api(users["acme.user"])
    assert titles(client.get(BASE)) == ["Acme switch swap", "Shared core upgrade"]
    assert titles(client.get(f"{BASE}?organization={globex.pk}")) == ["Shared core upgrade"]
    body = client.get(BASE).content.decode()
    assert "Globex" not in body
    shared = client.get(f"{BASE}{notices['both'].pk}/").json()
    assert shared["organizations"] == [acme.pk]  # not globex's id
    assert shared["services"] == [acme.services.get().pk]
    assert client.get(f"{BASE}{notices['globex'].pk}/").status_code == 404
    assert (
        client.post(f"{BASE}{notices['globex'].pk}/status/", {"status": "cancelled"}).status_code
        == 404
    )


def test_staff_list_all_and_filter(api, users, notices, acme):
    client = api(users["agent"])
    assert len(titles(client.get(BASE))) == 3
    assert titles(client.get(f"{BASE}?organization={acme.pk}")) == [
        "Acme switch swap",
        "Shared core upgrade",
    ]
    assert titles(client.get(f"{BASE}?starts_after=2026-12-09T00:00:00%2B01:00")) == [
        "Shared core upgrade"
    ]
    assert titles(client.get(f"{BASE}?starts_before=2026-12-09T00:00:00%2B01:00")) == [
        "Acme switch swap",
        "Globex secret window",
    ]
    assert titles(client.get(f"{BASE}?kind=emergency")) == []
    assert titles(client.get(f"{BASE}?status=scheduled&kind=preventive")) == sorted(
        n.title for n in notices.values()
    )


def test_staff_create_and_rule_errors_are_400_with_the_message(api, users, acme):
    client = api(users["agent"])
    payload = {
        "kind": "preventive",
        "title": "Firewall firmware",
        "organizations": [acme.pk],
        "starts_at": "2026-12-01T22:00:00+01:00",
        "ends_at": "2026-12-01T23:00:00+01:00",
    }
    with freeze_time(NOW):
        refused = client.post(BASE, payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
        assert refused.status_code == 400
        assert "the earliest allowed start is" in refused.json()["starts_at"][0]
        assert not MaintenanceNotice.objects.exists()
        payload.update(starts_at="2026-12-02T22:00:00+01:00", ends_at="2026-12-02T23:00:00+01:00")
        created = client.post(BASE, payload, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["status"] == "scheduled" and data["sequence"] == 0
    assert data["initiated_by"] == "agent" and data["updates"][0]["event"] == "announced"


def test_customers_may_not_create(api, users, acme):
    payload = {
        "kind": "emergency",
        "title": "x",
        "organizations": [acme.pk],
        "starts_at": "2026-12-02T22:00:00+01:00",
        "ends_at": "2026-12-02T23:00:00+01:00",
    }
    assert api(users["acme.contact"]).post(BASE, payload, format="json").status_code == 403
    assert api().get(BASE).status_code in (401, 403)


def test_status_updates(api, users, notices):
    client = api(users["agent"])
    url = f"{BASE}{notices['acme'].pk}/status/"
    with freeze_time(NOW):
        assert client.post(url, {"status": "completed"}, format="json").status_code == 409
        response = client.post(url, {"status": "in_progress", "message": "Go"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "in_progress" and response.json()["sequence"] == 1
    assert [u["event"] for u in response.json()["updates"]] == ["announced", "status"]
    customer = api(users["acme.contact"])
    assert customer.post(url, {"status": "cancelled"}, format="json").status_code == 403
    assert MaintenanceNotice.objects.get(pk=notices["acme"].pk).status == Status.IN_PROGRESS


def test_patch_revalidates(api, users, notices):
    client = api(users["agent"])
    url = f"{BASE}{notices['acme'].pk}/"
    with freeze_time(NOW):
        refused = client.patch(
            url, {"starts_at": "2026-12-12T01:00:00+01:00", "ends_at": "2026-12-12T02:00:00+01:00"},
            format="json",
        )  # fmt: skip
        assert refused.status_code == 400 and "Saturday" in str(refused.json())
        ok = client.patch(url, {"title": "Acme switch swap, rack 2"}, format="json")
    assert ok.status_code == 200 and ok.json()["sequence"] == 1
    assert api(users["acme.contact"]).patch(url, {"title": "x"}, format="json").status_code == 403


def test_subscriptions(api, users, acme, globex, make_notice):
    client = api(users["acme.contact"])
    url = f"{BASE}subscriptions/"
    created = client.post(url, {"organization": acme.pk}, format="json")
    assert created.status_code == 201, created.content
    again = client.post(url, {"organization": acme.pk}, format="json")
    assert again.status_code == 201 and again.json()["id"] == created.json()["id"]
    service = client.post(
        url, {"organization": acme.pk, "service": acme.services.get().pk}, format="json"
    )
    assert service.status_code == 201
    assert client.post(url, {"organization": globex.pk}, format="json").status_code == 400
    assert (
        client.post(
            url, {"organization": acme.pk, "service": globex.services.get().pk}, format="json"
        ).status_code
        == 400
    )
    assert len(client.get(url).json()["results"]) == 2
    other = Subscription.objects.create(user=users["globex.contact"], organization=globex)
    assert client.get(f"{url}{other.pk}/").status_code == 404
    assert client.delete(f"{url}{other.pk}/").status_code == 404
    make_notice(organizations=[acme])
    assert Notification.objects.filter(recipient=users["acme.contact"]).count() == 1
    assert client.delete(f"{url}{created.json()['id']}/").status_code == 204
    assert Subscription.objects.filter(user=users["acme.contact"]).count() == 1
