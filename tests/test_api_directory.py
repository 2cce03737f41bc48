"""The read-only directory API, the bell's API and the compliance figures."""

import pytest

pytestmark = pytest.mark.django_db


def names(response):
    return sorted(row["name"] for row in response.json()["results"])


def test_organisations_services_locations_are_tenant_scoped(users, api, acme, globex):
    customer = api(users["acme.user"])
    assert names(customer.get("/api/v1/organizations/")) == ["Acme Zorg"]
    assert customer.get(f"/api/v1/organizations/{globex.pk}/").status_code == 404
    assert names(customer.get("/api/v1/services/")) == ["Telefonie"]
    assert names(customer.get("/api/v1/locations/")) == ["Utrecht"]
    agent = api(users["agent"])
    assert names(agent.get("/api/v1/organizations/")) == ["Acme Zorg", "Globex Logistics"]
    assert names(agent.get("/api/v1/services/", {"organization": globex.pk})) == ["Datacenter"]
    assert agent.get("/api/v1/services/", {"organization": "x"}).status_code == 400


def test_memberships_staff_see_all_contacts_their_own(users, api):
    assert api(users["acme.user"]).get("/api/v1/memberships/").status_code == 403
    own = api(users["acme.contact"]).get("/api/v1/memberships/").json()["results"]
    assert {row["username"] for row in own} == {"acme.user", "acme.user2", "acme.contact"}
    body = api(users["csm"]).get("/api/v1/memberships/", {"page_size": 100}).json()
    roles = {row["username"]: row["role"] for row in body["results"]}
    assert roles["acme.contact"] == "authorised_contact" and roles["agent"] == "agent"


def test_notifications_are_the_callers_own_and_can_be_marked_read(users, api, make_ticket):
    from escalation.models import Channel, Notification
    from escalation.outbox import notify

    mine, _ = notify(users["agent"], Channel.IN_APP, ticket=None, trigger="t1", template="receipt")
    notify(users["csm"], Channel.IN_APP, ticket=None, trigger="t1", template="receipt")
    client = api(users["agent"])
    ids = [row["id"] for row in client.get("/api/v1/notifications/").json()["results"]]
    assert mine.pk in ids
    assert all(Notification.objects.get(pk=i).recipient_id == users["agent"].pk for i in ids)
    assert client.post("/api/v1/notifications/read/", {"ids": [mine.pk]}, format="json").json() == {
        "marked": 1
    }
    mine.refresh_from_db()
    assert mine.read_at is not None
    bad = client.post("/api/v1/notifications/read/", {"ids": ["x"]}, format="json")
    assert bad.status_code == 400


def test_compliance_api(users, api):
    assert api(users["acme.user"]).get("/api/v1/sla/compliance/").status_code == 403
    assert api(users["acme.contact"]).get("/api/v1/sla/compliance/").status_code == 200
    assert (
        api(users["director"]).get("/api/v1/sla/compliance/", {"since": "2026-13"}).status_code
        == 400
    )
    assert api(users["director"]).get("/api/v1/sla/compliance/", {"since": "2026-01"}).json() == []


def test_the_callers_language_ends_with_the_request(users, api):
    """The API speaks the token user's language, and does not leave it active afterwards."""
    from django.utils import translation

    users["agent"].language = "en"
    users["agent"].save(update_fields=["language"])
    with translation.override("nl"):
        response = api(users["agent"]).get("/api/v1/services/", {"organization": "x"})
        assert response.status_code == 400
        assert translation.get_language() == "nl"
