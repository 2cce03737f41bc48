"""Subscribers get the announcement, every update and the completion exactly once (the outbox)."""

import pytest
from django.core import mail
from freezegun import freeze_time

from escalation import delivery
from escalation.models import Channel, Notification
from maintenance import notifications, services
from maintenance.models import Kind, Status, Subscription
from pim.models import Role
from tests.conftest import make_user

from .conftest import NOW, at

pytestmark = pytest.mark.django_db


def rows(notice, **filters):
    return Notification.objects.filter(trigger__startswith=f"maintenance:{notice.pk}:", **filters)


def recipients(notice, **filters):
    return sorted(rows(notice, **filters).values_list("recipient__username", flat=True))


@pytest.fixture
def subscribed(users, acme, globex):
    """acme.contact (all services), acme.user (Telefonie), globex.contact, and the agent for
    acme; acme.user2 is not subscribed."""
    services.subscribe(users["acme.contact"], acme)
    services.subscribe(users["acme.user"], acme, acme.services.get())
    services.subscribe(users["globex.contact"], globex)
    services.subscribe(users["agent"], acme)
    return users


def test_announcement_reaches_each_subscriber_once(subscribed, make_notice, acme):
    notice = make_notice(organizations=[acme])
    assert recipients(notice) == ["acme.contact", "acme.user", "agent"]
    assert set(rows(notice).values_list("channel", flat=True)) == {Channel.EMAIL}
    assert set(rows(notice).values_list("template", flat=True)) == {"maintenance_announce"}
    # announcing again (a retry, a second worker) writes nothing new
    assert notifications.announce(notice) == []
    assert notifications.announce(notice) == []
    assert rows(notice).count() == 3


def test_each_update_and_the_completion_once(subscribed, make_notice, acme, users):
    notice = make_notice(organizations=[acme])
    agent = users["agent"]
    with freeze_time(at(2026, 12, 8, 22, 0)):
        notice, started = services.post_status_update(notice, agent, Status.IN_PROGRESS)
        notice, note = services.post_status_update(notice, agent, Status.IN_PROGRESS, "Halfway")
        notice, done = services.post_status_update(notice, agent, Status.COMPLETED, "All good")
    for update in (started, note, done):
        assert notifications.publish(notice, update) == []  # once, however often it is published
    assert rows(notice).count() == 4 * 3
    per_event = {}
    for trigger, user in rows(notice).values_list("trigger", "recipient__username"):
        per_event.setdefault(trigger, []).append(user)
    assert all(sorted(u) == ["acme.contact", "acme.user", "agent"] for u in per_event.values())
    assert rows(notice, template="maintenance_completed").count() == 3


def test_subscribers_only_of_the_affected_organisation_and_service(subscribed, make_notice, acme):
    other_service = acme.services.create(name="Internet", code="internet")
    notice = make_notice(organizations=[acme], services=[other_service])
    # acme.user subscribed for Telefonie only
    assert recipients(notice) == ["acme.contact", "agent"]


def test_never_a_user_of_another_organisation(users, acme, globex, make_notice):
    services.subscribe(users["globex.contact"], globex)
    # a subscription row that should never exist (a globex user on acme) is still ignored
    Subscription.objects.create(user=users["globex.user"], organization=acme)
    notice = make_notice(organizations=[acme])
    assert recipients(notice) == []
    everyone = make_notice(all_organizations=True, title="Everybody")
    assert recipients(everyone) == ["globex.contact"]


def test_customers_subscribe_to_their_own_organisation_only(users, acme, globex):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        services.subscribe(users["acme.contact"], globex)
    with pytest.raises(ValidationError):
        services.subscribe(users["acme.contact"], acme, globex.services.get())
    sub, created = services.subscribe(users["acme.user2"], acme)
    assert created and services.subscribe(users["acme.user2"], acme) == (sub, False)
    services.subscribe(users["csm"], globex)  # provider staff: any organisation


def test_emergency_maintenance_also_reaches_the_portal(subscribed, make_notice, acme):
    notice = make_notice(start=at(2026, 11, 29, 3, 0), kind=Kind.EMERGENCY, organizations=[acme])
    assert sorted(rows(notice).values_list("recipient__username", "channel")) == [
        ("acme.contact", "email"),
        ("acme.contact", "in_app"),
        ("acme.user", "email"),
        ("acme.user", "in_app"),
        ("agent", "email"),
        ("agent", "in_app"),
    ]


def test_delivery_sends_each_mail_once_in_the_recipients_language(
    subscribed, make_notice, acme, globex, users
):
    users["acme.contact"].language = "nl"
    users["acme.contact"].save()
    shared = acme.services.get()
    notice = make_notice(
        organizations=[acme, globex],
        services=[shared, globex.services.get()],
        title="Storage migration",
        impact="degraded",
        emergency_scenario="Use the 4G backup router.",
    )
    for row in rows(notice):
        assert delivery.deliver(row.pk) is True
        assert delivery.deliver(row.pk) is False
    assert sorted(m.to[0] for m in mail.outbox) == [
        "acme.contact@example.com",
        "acme.user@example.com",
        "agent@example.com",
        "globex.contact@example.com",
    ]
    by_to = {m.to[0]: m for m in mail.outbox}
    customer = by_to["acme.user@example.com"]
    assert customer.subject.startswith("Maintenance announced: Storage migration")
    text = customer.body
    assert "Storage migration" in text and "Use the 4G backup router." in text
    assert "Telefonie" in text and f"/maintenance/{notice.pk}/" in text
    html = customer.alternatives[0][0]
    assert "Storage migration" in html
    # a customer's mail names only their own organisation's part of a shared notice
    for message in (customer, by_to["acme.contact@example.com"]):
        body = message.body + message.alternatives[0][0]
        assert "Globex" not in body and "Datacenter" not in body
    globex_body = by_to["globex.contact@example.com"].body
    assert "Datacenter" in globex_body and "Acme" not in globex_body
    assert "Telefonie" not in globex_body
    # the recipient's language (the wording itself is translated with the nl catalogue)
    assert "dinsdag 8 december 2026 22:00" in by_to["acme.contact@example.com"].subject
    assert "Tuesday 8 December 2026 22:00" in customer.subject
    staff = by_to["agent@example.com"].body
    assert "Globex Logistics" in staff and "Datacenter" in staff


def test_in_app_rows_read_as_maintenance(subscribed, make_notice, acme, client, users):
    notice = make_notice(start=at(2026, 11, 29, 3, 0), kind=Kind.EMERGENCY, organizations=[acme])
    client.force_login(users["acme.contact"])
    with freeze_time(NOW):
        page = client.get("/notifications/").content.decode()
    assert notice.title in page
    # the item links to the notice; opening it marks it read (and only that one)
    row = Notification.objects.get(
        recipient=users["acme.contact"], channel=Channel.IN_APP, context__notice=notice.pk
    )
    assert f'href="/notifications/{row.pk}/"' in page
    others = Notification.objects.filter(
        recipient=users["acme.contact"], channel=Channel.IN_APP, read_at__isnull=True
    ).exclude(pk=row.pk)
    unread_others = others.count()
    opened = client.get(f"/notifications/{row.pk}/")
    assert opened.status_code == 302 and opened["Location"] == f"/maintenance/{notice.pk}/"
    row.refresh_from_db()
    assert row.read_at is not None and others.count() == unread_others
    assert client.get(opened["Location"]).status_code == 200
    # someone else's notification is a 404 and stays unread
    client.force_login(users["acme.user"])
    assert client.get(f"/notifications/{row.pk}/").status_code == 404


def test_users_without_email_are_skipped(acme, make_notice):
    user = make_user("acme.noemail", Role.CUSTOMER_USER, acme)
    user.email = ""
    user.save()
    services.subscribe(user, acme)
    assert recipients(make_notice(organizations=[acme])) == []
