"""The billing overview over the API and the portal (issue 18 item 4): who reads which
organisation's overview, who closes a month, bad months, downloads, the accounting export,
constant queries."""

import datetime as dt

import pytest
from django.test import Client
from freezegun import freeze_time

from billing.models import Category, ClosedMonth

pytestmark = pytest.mark.django_db

NOW = "2026-04-10 10:00:00+02:00"


def api_url(org, month="2026-03"):
    return f"/api/v1/billing/{org.pk}/{month}/"


@pytest.fixture
def march(users, make_ticket, add_time, rates):
    add_time(make_ticket("acme.user"), "2026-03-02", 60, Category.CONSULTANCY, "Acme advice")
    add_time(make_ticket("globex.user"), "2026-03-03", 30, Category.TRAINING, "Globex training")


def client_for(users, username):
    client = Client()
    client.force_login(users[username])
    return client


# --- API ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "own", "other"),
    [
        ("acme.contact", 200, 404),
        ("acme.user", 403, 404),
        ("agent", 200, 200),
        ("csm", 200, 200),
    ],
)
def test_api_roles(api, users, acme, globex, march, username, own, other):
    client = api(users[username])
    response = client.get(api_url(acme))
    assert response.status_code == own
    if own == 200:
        data = response.json()
        assert data["organization"] == acme.pk and data["month"] == "2026-03-01"
        assert data["subtotal"] == "102.50" and data["total"] == "124.03"
        assert data["status"] == "provisional"
        assert data["lines"][0]["category"] == "consultancy"
    assert client.get(api_url(globex)).status_code == other


@pytest.mark.parametrize("month", ["2026-13", "2026-3", "march", "0001-01", "2026-03-01"])
def test_api_bad_month_is_400(api, users, acme, month):
    assert api(users["acme.contact"]).get(api_url(acme, month)).status_code == 400


def test_api_unknown_organisation_is_404(api, users):
    assert api(users["csm"]).get("/api/v1/billing/999999/2026-03/").status_code == 404


def test_api_close(api, users, acme, globex, march):
    url = api_url(acme) + "close/"
    with freeze_time(NOW):
        assert api(users["acme.contact"]).post(url).status_code == 403
        assert api(users["globex.contact"]).post(url).status_code == 404
        assert api(users["agent"]).post(url).status_code == 403
        assert not ClosedMonth.objects.exists()
        response = api(users["opsmanager"]).post(url)
        assert response.status_code == 201, response.data
        assert response.json()["status"] == "final"
        assert api(users["director"]).post(url).status_code == 409  # twice
        assert api(users["csm"]).post(api_url(acme, "2026-04") + "close/").status_code == 409
        assert api(users["csm"]).post(api_url(acme, "2027-01") + "close/").status_code == 409
        assert api(users["csm"]).post(api_url(acme, "2026-99") + "close/").status_code == 400
    assert api(users["acme.contact"]).get(api_url(acme)).json()["status"] == "final"
    assert ClosedMonth.objects.get().closed_by == users["opsmanager"]


def test_api_schema_has_billing(api, users):
    paths = api(users["agent"]).get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "/api/v1/billing/{organization}/{month}/" in paths
    assert "post" in paths["/api/v1/billing/{organization}/{month}/close/"]
    assert "/api/v1/tickets/{id}/reclassify-time/" in paths


def test_api_queries_do_not_grow(api, users, acme, make_ticket, add_time, rates,
                                 django_assert_max_num_queries):  # fmt: skip
    client = api(users["acme.contact"])
    ticket = make_ticket()
    for i, category in enumerate(Category):
        add_time(ticket, dt.date(2026, 3, 1 + i), 10 + i, category)
    with django_assert_max_num_queries(12):
        assert len(client.get(api_url(acme)).json()["lines"]) == len(Category)


# --- pages ----------------------------------------------------------------------------------


def test_contact_reads_their_own_overview(users, acme, march):
    client = client_for(users, "acme.contact")
    response = client.get("/billing/", {"month": "2026-03"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Acme Zorg" in body and "102.50" in body and "124.03" in body
    assert "Globex" not in body and 'name="organization"' not in body
    assert "Close the month" not in body
    # another organisation in the filter is not theirs to choose
    response = client.get("/billing/", {"month": "2026-03", "organization": users["globex.user"]
                                        .membership.organization_id})  # fmt: skip
    assert response.status_code == 400 and "Globex" not in response.content.decode()


@pytest.mark.parametrize("username", ["acme.user", "globex.user"])
def test_customer_users_have_no_billing_pages(users, acme, march, username):
    client = client_for(users, username)
    assert client.get("/billing/").status_code == 404
    assert client.get(f"/billing/{acme.pk}/2026-03/overview.csv").status_code == 404
    assert client.get(f"/billing/{acme.pk}/2026-03/overview.pdf").status_code == 404


def test_other_organisation_downloads_are_404(users, acme, march):
    client = client_for(users, "globex.contact")
    for suffix in ("overview.csv", "overview.pdf"):
        response = client.get(f"/billing/{acme.pk}/2026-03/{suffix}")
        assert response.status_code == 404
        assert b"Acme" not in response.content
    assert client.post(f"/billing/{acme.pk}/2026-03/close/").status_code == 404


def test_downloads(users, acme, march):
    client = client_for(users, "acme.contact")
    response = client.get(f"/billing/{acme.pk}/2026-03/overview.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "billing-acme-2026-03.csv" in response["Content-Disposition"]
    assert "consultancy" in response.content.decode() and "124.03" in response.content.decode()
    response = client.get(f"/billing/{acme.pk}/2026-03/overview.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert b"124.03" in response.content
    assert client.get(f"/billing/{acme.pk}/2026-99/overview.pdf").status_code == 404


def test_staff_see_every_organisation_and_managers_export(users, acme, globex, march):
    client = client_for(users, "agent")
    body = client.get("/billing/", {"month": "2026-03"}).content.decode()
    assert "Acme Zorg" in body and "Globex Logistics" in body
    assert "/billing/accounting/2026-03/" not in body  # managers only
    assert client.get("/billing/accounting/2026-03/").status_code == 404
    manager = client_for(users, "csm")
    body = manager.get("/billing/", {"month": "2026-03"}).content.decode()
    assert "/billing/accounting/2026-03/" in body
    response = manager.get("/billing/accounting/2026-03/")
    assert response.status_code == 200
    text = response.content.decode()
    assert text.startswith("month,status,organization_id,organization,line,")
    assert "Acme Zorg" in text and "Globex Logistics" in text
    assert manager.get("/billing/accounting/nope/").status_code == 404
    assert client_for(users, "acme.contact").get("/billing/accounting/2026-03/").status_code == 404


def test_bad_filters_are_400_on_the_page(users, march):
    client = client_for(users, "csm")
    assert client.get("/billing/", {"month": "2026-13"}).status_code == 400
    assert client.get("/billing/", {"organization": "x"}).status_code == 400


def test_manager_closes_the_month_from_the_page(users, acme, march):
    manager = client_for(users, "director")
    with freeze_time(NOW):
        body = manager.get("/billing/", {"month": "2026-03", "organization": acme.pk})
        body = body.content.decode()
        assert "Close the month" in body and "data-confirm" in body
        response = manager.post(f"/billing/{acme.pk}/2026-03/close/", follow=True)
        assert response.status_code == 200
        body = response.content.decode()
        assert "Final" in body and "Close the month" not in body
        # twice: told, nothing more
        response = manager.post(f"/billing/{acme.pk}/2026-03/close/", follow=True)
        assert "already closed" in response.content.decode()
        # the current month offers no button
        body = manager.get("/billing/", {"month": "2026-04", "organization": acme.pk})
        assert "Close the month" not in body.content.decode()
    assert ClosedMonth.objects.count() == 1
    agent = client_for(users, "agent")
    with freeze_time(NOW):
        agent.post(f"/billing/{acme.pk}/2026-02/close/")
    assert ClosedMonth.objects.count() == 1


def test_page_in_dutch(users, acme, march):
    users["acme.contact"].language = "nl"
    users["acme.contact"].save()
    body = client_for(users, "acme.contact").get("/billing/", {"month": "2026-03"})
    body = body.content.decode()
    assert "Facturatie" in body and "102,50" in body and "maart 2026" in body
    # staff see the month's organisations under a heading that starts with a capital, as a
    # heading does in Dutch too ("Maart 2026"; mid-sentence the month stays lower case)
    users["csm"].language = "nl"
    users["csm"].save()
    staff = client_for(users, "csm").get("/billing/", {"month": "2026-03"}).content.decode()
    assert "<h2>Maart 2026</h2>" in staff


def test_page_queries_do_not_grow(users, acme, globex, make_ticket, add_time, rates,
                                  django_assert_max_num_queries):  # fmt: skip
    client = client_for(users, "csm")
    add_time(make_ticket(), "2026-03-02", 30, Category.CONSULTANCY)
    with django_assert_max_num_queries(30) as few:
        client.get("/billing/", {"month": "2026-03"})
    baseline = len(few.captured_queries)
    for i in range(5):
        add_time(make_ticket("globex.user", title=f"G{i}"), "2026-03-03", 30, Category.TRAINING)
        add_time(make_ticket(title=f"A{i}"), "2026-03-04", 30, Category.CHANGE)
    with django_assert_max_num_queries(baseline):
        body = client.get("/billing/", {"month": "2026-03"}).content.decode()
    assert "Globex Logistics" in body
