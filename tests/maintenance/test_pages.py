"""Maintenance pages: tenant isolation, list and month view, staff forms with the rule errors,
subscriptions, and the admin through the same validation."""

import pytest
from django.urls import reverse
from freezegun import freeze_time

from maintenance.models import MaintenanceNotice, Status, Subscription

from .conftest import NOW, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def notices(make_notice, acme, globex):
    return {
        "acme": make_notice(organizations=[acme], title="Acme switch swap"),
        "globex": make_notice(organizations=[globex], title="Globex secret window"),
        "both": make_notice(
            organizations=[acme, globex],
            services=[globex.services.get()],
            title="Shared core upgrade",
            start=at(2026, 12, 10, 1),
        ),
    }


def get(client, url):
    with freeze_time(NOW):
        return client.get(url)


def test_customer_pages_show_own_organisation_only(client, users, notices):
    client.force_login(users["acme.user"])
    for url in (
        reverse("maintenance-list"),
        reverse("maintenance-month") + "?month=2026-12",
        reverse("maintenance-detail", args=[notices["both"].pk]),
    ):
        response = get(client, url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "Globex" not in body and "Datacenter" not in body, url
        # A phrase with spaces: random tokens (CSRF, CSP nonce) in the page cannot contain it.
        assert "secret window" not in body, url
    listing = get(client, reverse("maintenance-list")).content.decode()
    assert "Acme switch swap" in listing and "Shared core upgrade" in listing
    for name in ("maintenance-detail", "maintenance-edit"):
        assert get(client, reverse(name, args=[notices["globex"].pk])).status_code == 404
    with freeze_time(NOW):
        response = client.post(
            reverse("maintenance-status", args=[notices["globex"].pk]), {"status": "cancelled"}
        )
    assert response.status_code == 404
    assert MaintenanceNotice.objects.get(pk=notices["globex"].pk).status == Status.SCHEDULED


def test_staff_see_all(client, users, notices):
    client.force_login(users["agent"])
    body = get(client, reverse("maintenance-list")).content.decode()
    assert all(n.title in body for n in notices.values())


def test_month_view_places_windows_on_their_days(client, users, notices, make_notice, acme):
    make_notice(
        organizations=[acme],
        title="Night work",
        kind="emergency",
        start=at(2026, 12, 13, 23, 0),
        hours=3,
    )  # fmt: skip  (Sunday 23:00 → Monday 02:00)
    users["acme.contact"].language = "nl"  # Dutch writes a month in lower case
    users["acme.contact"].save(update_fields=["language"])
    client.force_login(users["acme.contact"])
    body = get(client, reverse("maintenance-month") + "?month=2026-12").content.decode()
    assert "<p>December 2026</p>" in body  # but the subtitle starts with a capital

    def cell(day):
        start = body.index(f'data-date="{day}"')
        return body[start : body.index("</td>", start)]

    assert "Acme switch swap" in cell("2026-12-08")
    assert "Shared core upgrade" in cell("2026-12-10")
    assert "Night work" in cell("2026-12-13") and "Night work" in cell("2026-12-14")
    assert "Acme switch swap" not in cell("2026-12-09")
    # an invalid month falls back to this month
    assert get(client, reverse("maintenance-month") + "?month=2026-13").status_code == 200
    assert "november 2026" in get(client, reverse("maintenance-month")).content.decode().lower()


def test_staff_create_shows_rule_errors_and_announces(client, users, acme):
    client.force_login(users["agent"])
    url = reverse("maintenance-create")
    data = {
        "kind": "preventive",
        "title": "Firewall firmware",
        "organizations": [acme.pk],
        "starts_at": "2026-12-12T01:00",
        "ends_at": "2026-12-12T02:00",
        "impact": "none",
        "initiator": "provider",
    }
    with freeze_time(NOW):
        refused = client.post(url, data)
        assert refused.status_code == 200
        body = refused.content.decode()
        assert "Saturday 12 December 2026 is not a working day" in body
        assert "The earliest allowed start is Monday 14 December 2026 00:00" in body
        data.update(starts_at="2026-12-14T01:00", ends_at="2026-12-14T02:00")
        created = client.post(url, data)
    assert created.status_code == 302
    notice = MaintenanceNotice.objects.get()
    assert notice.starts_at == at(2026, 12, 14, 1, 0)
    assert created["Location"] == notice.get_absolute_url()


def test_customers_cannot_reach_the_staff_forms(client, users, notices):
    client.force_login(users["acme.contact"])
    assert get(client, reverse("maintenance-create")).status_code == 403
    assert get(client, reverse("maintenance-edit", args=[notices["acme"].pk])).status_code == 403
    with freeze_time(NOW):
        response = client.post(
            reverse("maintenance-status", args=[notices["acme"].pk]), {"status": "cancelled"}
        )
    assert response.status_code == 403


def test_staff_post_status_updates_and_edit(client, users, notices):
    client.force_login(users["agent"])
    notice = notices["acme"]
    url = reverse("maintenance-status", args=[notice.pk])
    with freeze_time(NOW):
        assert client.post(url, {"status": "completed"}).status_code == 400
        assert client.post(url, {"status": "in_progress", "message": "Go"}).status_code == 302
        edit = client.post(
            reverse("maintenance-edit", args=[notice.pk]),
            {
                "kind": "preventive", "title": "Acme switch swap (rack 2)",
                "organizations": [notice.organizations.get().pk],
                "starts_at": "2026-12-08T22:00", "ends_at": "2026-12-08T23:00",
                "impact": "none", "initiator": "provider", "message": "Rack 2 only",
            },
        )  # fmt: skip
    assert edit.status_code == 302
    notice.refresh_from_db()
    assert notice.status == Status.IN_PROGRESS and notice.sequence == 2
    page = get(client, notice.get_absolute_url()).content.decode()
    assert "Rack 2 only" in page and "Go" in page


def test_subscribe_and_unsubscribe_in_the_portal(client, users, acme, globex):
    client.force_login(users["acme.user"])
    url = reverse("maintenance-subscriptions")
    page = client.get(url).content.decode()
    assert "Globex" not in page and "Datacenter" not in page
    assert client.post(url, {"organization": acme.pk, "service": ""}).status_code == 302
    assert client.post(url, {"organization": globex.pk}).status_code == 200  # not a choice
    sub = Subscription.objects.get(user=users["acme.user"])
    assert sub.organization == acme and sub.service is None
    assert 'data-confirm="Stop the maintenance announcements' in client.get(url).content.decode()
    foreign = Subscription.objects.create(user=users["globex.contact"], organization=globex)
    delete = reverse("maintenance-unsubscribe", args=[foreign.pk])
    assert client.post(delete).status_code == 404
    assert client.post(reverse("maintenance-unsubscribe", args=[sub.pk])).status_code == 302
    assert not Subscription.objects.filter(user=users["acme.user"]).exists()


def test_admin_uses_the_same_rules(client, users, acme):
    admin = users["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    url = reverse("admin:maintenance_maintenancenotice_add")
    data = {
        "kind": "preventive",
        "title": "Admin window",
        "description": "",
        "organizations": [acme.pk],
        "starts_at_0": "2027-04-27",
        "starts_at_1": "02:00",
        "ends_at_0": "2027-04-27",
        "ends_at_1": "03:00",
        "impact": "none",
        "emergency_scenario": "",
        "initiator": "provider",
        "updates-TOTAL_FORMS": "0",
        "updates-INITIAL_FORMS": "0",
    }
    with freeze_time(NOW):
        assert get(client, url).status_code == 200
        refused = client.post(url, data)
        assert refused.status_code == 200
        assert "Tuesday 27 April 2027 is not a working day" in refused.content.decode()
        data.update(starts_at_0="2027-04-28", ends_at_0="2027-04-28")
        created = client.post(url, data)
    assert created.status_code == 302, created.content.decode()[:3000]
    notice = MaintenanceNotice.objects.get()
    assert notice.initiated_by == admin and list(notice.organizations.all()) == [acme]
    assert notice.updates.get().event == "announced"
