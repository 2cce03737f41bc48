"""Time entries (issue 18 item 1): the seed's billing rules per category, the incident told once
when its time becomes billable, tenant isolation over the API, validation, constant queries."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from django_scopes import scopes_disabled

from billing import services
from billing.models import WITHIN_SLA, Category, TimeEntry
from escalation.models import Channel, Notification
from tickets.models import AuditEntry, Kind

pytestmark = pytest.mark.django_db

URL = "/api/v1/time-entries/"
DAY = dt.date(2026, 3, 2)

EXPECTED_BILLABLE = {
    Category.INCIDENT_PROVIDER: False,
    Category.INTAKE_ADMIN: False,
    Category.ADMIN_QUESTION: False,
    Category.INCIDENT_THIRD_PARTY: True,
    Category.INCIDENT_GENERAL_DEVELOPMENT: True,
    Category.INCIDENT_HOURLY_WORK: True,
    Category.INCIDENT_OLD_QUOTE: True,
    Category.CHANGE: True,
    Category.CONSULTANCY: True,
    Category.TRAINING: True,
    Category.PHONE_SUPPORT: True,
    Category.CONTENT_QUESTION: True,
}


def values(users, **kwargs):
    return {
        "user": users["agent"],
        "worked_on": DAY,
        "minutes": 30,
        "description": "Looked into the exchange",
        "category": Category.INCIDENT_PROVIDER,
        **kwargs,
    }


def add(ticket, users, **kwargs):
    return services.add_entry(ticket, users["agent"], values(users, **kwargs))


def told(ticket):
    with scopes_disabled():
        return Notification.objects.filter(
            ticket=ticket, template="billing_time_billable", channel=Channel.IN_APP
        )


def test_every_category_is_covered_by_the_rules():
    assert set(EXPECTED_BILLABLE) == set(Category)
    assert {c for c, billable in EXPECTED_BILLABLE.items() if not billable} == WITHIN_SLA


@pytest.mark.parametrize("category", list(Category))
def test_each_category_decides_billable(users, make_ticket, category):
    ticket = make_ticket()
    entry = add(ticket, users, category=category)
    entry.refresh_from_db()
    assert entry.billable is EXPECTED_BILLABLE[category]
    with scopes_disabled():
        audit = AuditEntry.objects.get(ticket=ticket, action="time_added")
    assert audit.object_id == entry.pk and audit.changes["category"] == [None, category.value]


def test_incident_reclassified_billable_tells_reporter_and_contacts_once(users, make_ticket):
    ticket = make_ticket("acme.user")
    assert ticket.kind == Kind.INCIDENT
    first = add(ticket, users, category=Category.INCIDENT_PROVIDER)
    second = add(ticket, users, category=Category.INTAKE_ADMIN)
    assert not told(ticket).exists()
    services.edit_entry(first, users["agent"], {"category": Category.INCIDENT_THIRD_PARTY})
    notices = told(ticket)
    assert sorted(n.recipient.username for n in notices) == ["acme.contact", "acme.user"]
    assert notices[0].context == {"category": "incident_third_party"}
    from billing.notifications import message_for

    with translation.override("en"):
        subject, body, _extra = message_for(notices[0])
    assert ticket.number in subject and "Incident caused by a third party" in body
    with translation.override("nl"):
        subject, body, _extra = message_for(notices[0])
    assert "gefactureerd" in subject and "Incident veroorzaakt door derden" in body
    # back and forth, and the other entry to the same reason: told once
    services.edit_entry(first, users["agent"], {"category": Category.INCIDENT_PROVIDER})
    services.edit_entry(first, users["agent"], {"category": Category.INCIDENT_THIRD_PARTY})
    services.edit_entry(second, users["agent"], {"category": Category.INCIDENT_THIRD_PARTY})
    assert told(ticket).count() == 2
    with scopes_disabled():
        assert AuditEntry.objects.filter(ticket=ticket, action="time_changed").count() == 4


def test_billable_time_from_the_start_is_no_reclassification(users, make_ticket):
    ticket = make_ticket()
    add(ticket, users, category=Category.INCIDENT_THIRD_PARTY)
    add(ticket, users, category=Category.INCIDENT_PROVIDER)
    assert not told(ticket).exists()


def test_a_new_billable_entry_on_an_incident_within_sla_tells(users, make_ticket):
    ticket = make_ticket()
    add(ticket, users, category=Category.INCIDENT_PROVIDER)
    add(ticket, users, category=Category.INCIDENT_OLD_QUOTE)
    assert told(ticket).count() == 2


def test_only_workers_write(users, make_ticket):
    ticket = make_ticket()
    for name in ("acme.contact", "acme.user", "csm"):
        with pytest.raises(PermissionDenied):
            services.add_entry(ticket, users[name], values(users))
    entry = add(ticket, users)
    with pytest.raises(PermissionDenied):
        services.delete_entry(entry, users["acme.contact"])
    services.delete_entry(entry, users["oncall"])
    with scopes_disabled():
        assert not TimeEntry.objects.exists()
        assert AuditEntry.objects.filter(ticket=ticket, action="time_deleted").exists()


def test_service_validation(users, make_ticket):
    ticket = make_ticket()
    for bad in (
        {"minutes": 0},
        {"minutes": 1441},
        {"category": "free"},
        {"description": "  "},
        {"user": users["acme.user"]},
    ):
        with pytest.raises(ValidationError):
            add(ticket, users, **bad)
    assert add(ticket, users, minutes=1).minutes == 1
    assert add(ticket, users, minutes=1440).minutes == 1440


# --- API ----------------------------------------------------------------------------------


def payload(ticket, **kwargs):
    return {
        "ticket": ticket.pk,
        "worked_on": "2026-03-02",
        "minutes": 45,
        "description": "Restarted the exchange",
        "category": "incident_third_party",
        **kwargs,
    }


def test_api_staff_create_retrieve_update_delete(api, users, make_ticket):
    ticket = make_ticket()
    client = api(users["agent"])
    response = client.post(URL, payload(ticket), format="json")
    assert response.status_code == 201, response.data
    data = response.json()
    assert data["billable"] is True and data["user"] == "agent" and data["number"] == ticket.number
    url = f"{URL}{data['id']}/"
    response = client.patch(url, {"category": "intake_admin", "minutes": 20}, format="json")
    assert response.status_code == 200, response.data
    assert response.json()["billable"] is False and response.json()["minutes"] == 20
    assert response.json()["ticket"] == ticket.pk
    response = client.put(url, payload(ticket, user="oncall"), format="json")
    assert response.status_code == 200 and response.json()["user"] == "oncall"
    assert api(users["director"]).get(url).status_code == 200
    assert api(users["director"]).delete(url).status_code == 403  # managers read
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "bad",
    [
        {"minutes": 0},
        {"minutes": 1441},
        {"minutes": "many"},
        {"category": "free_lunch"},
        {"description": ""},
        {"worked_on": "0001-01-01"},
        {"user": "acme.user"},
        {"ticket": 0},
    ],
)
def test_api_bad_input_is_400(api, users, make_ticket, bad):
    ticket = make_ticket()
    response = api(users["agent"]).post(URL, {**payload(ticket), **bad}, format="json")
    assert response.status_code == 400, response.content
    with scopes_disabled():
        assert not TimeEntry.objects.exists()


def test_api_bad_ticket_filter_is_400(api, users):
    assert api(users["agent"]).get(URL, {"ticket": "x"}).status_code == 400


@pytest.fixture
def entries(users, make_ticket):
    acme_own = make_ticket("acme.user", title="Acme own")
    acme_colleague = make_ticket("acme.contact", title="Acme colleague")
    globex = make_ticket("globex.user", title="Globex")
    made = {
        "own_billable": add(acme_own, users, category=Category.CONSULTANCY),
        "own_sla": add(acme_own, users, category=Category.INCIDENT_PROVIDER),
        "colleague_billable": add(acme_colleague, users, category=Category.TRAINING),
        "globex_billable": add(globex, users, category=Category.CHANGE),
    }
    return made, {"acme_own": acme_own, "globex": globex}


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("agent", {"own_billable", "own_sla", "colleague_billable", "globex_billable"}),
        ("director", {"own_billable", "own_sla", "colleague_billable", "globex_billable"}),
        ("acme.contact", {"own_billable", "colleague_billable"}),
        ("acme.user", {"own_billable"}),
        ("globex.user", {"globex_billable"}),
    ],
)
def test_api_isolation(api, users, entries, username, expected):
    made, _tickets = entries
    client = api(users[username])
    ids = {e["id"] for e in client.get(URL).json()["results"]}
    assert ids == {made[name].pk for name in expected}
    for name, entry in made.items():
        status = client.get(f"{URL}{entry.pk}/").status_code
        assert status == (200 if name in expected else 404), name


def test_api_customers_cannot_write(api, users, entries):
    made, tickets = entries
    client = api(users["acme.contact"])
    assert client.post(URL, payload(tickets["acme_own"]), format="json").status_code == 403
    own = f"{URL}{made['own_billable'].pk}/"
    assert client.patch(own, {"minutes": 1}, format="json").status_code == 403
    assert client.delete(own).status_code == 403
    # staff cannot file time on a ticket id that does not exist
    response = api(users["agent"]).post(URL, {**payload(tickets["acme_own"]), "ticket": 10**12},
                                        format="json")  # fmt: skip
    assert response.status_code == 404


def test_api_list_filters_by_ticket(api, users, entries):
    made, tickets = entries
    response = api(users["agent"]).get(URL, {"ticket": tickets["acme_own"].pk})
    assert {e["id"] for e in response.json()["results"]} == {
        made["own_billable"].pk,
        made["own_sla"].pk,
    }
    response = api(users["acme.user"]).get(URL, {"ticket": tickets["globex"].pk})
    assert response.json()["results"] == []


def test_api_list_queries_do_not_grow(api, users, make_ticket, django_assert_num_queries):
    client = api(users["agent"])
    ticket = make_ticket()
    add(ticket, users)
    with django_assert_num_queries(2) as few:  # count, page (with ticket and users)
        assert len(client.get(URL).json()["results"]) == 1
    for i in range(6):
        add(make_ticket(title=f"T{i}"), users, category=Category.TRAINING)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(client.get(URL).json()["results"]) == 7


def test_api_schema_has_time_entries(api, users):
    response = api(users["agent"]).get("/api/schema/", HTTP_ACCEPT="application/json")
    paths = response.json()["paths"]
    assert "/api/v1/time-entries/" in paths and "/api/v1/time-entries/{id}/" in paths
