"""The notification centre (issue 15, build item 6): mark one read beside "mark all", a filter by
kind with pagination, every item leading to its ticket, notice or escalation, nobody else's
items, and a constant number of queries however many items a page shows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from escalation import inbox, outbox
from escalation.acknowledge import acknowledge
from escalation.models import Channel, Escalation, Notification
from maintenance import services as maintenance
from maintenance.models import Kind
from tickets import services
from tickets.models import Status

from .conftest import at

pytestmark = pytest.mark.django_db

LIST = reverse("notification-list")


def login(users, name):
    client = Client()
    client.force_login(users[name])
    return client


def bell(user, **filters):
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP, **filters)


def read_url(notification):
    return reverse("notification-read", args=[notification.pk])


def open_url(notification):
    return reverse("notification-open", args=[notification.pk])


@pytest.fixture
def customer_items(file_ticket, users):
    """globex.user's bell: a receipt, a public update, waiting for customer, a priority change."""
    ticket = file_ticket(reporter="globex.user", priority=3)
    agent = users["agent"]
    services.add_update(ticket, agent, "We are on it.")
    services.transition(ticket, agent, Status.WAITING_FOR_CUSTOMER, note="Which floor?")
    services.change_priority(ticket, agent, 2, "More colleagues are affected.")
    return ticket


def emergency_notice(users, acme, globex, when):
    """An emergency notice for both organisations (emergencies reach the bell too), to which
    globex.user and oncall are subscribed."""
    maintenance.subscribe(users["globex.user"], globex)
    maintenance.subscribe(users["oncall"], globex)
    start = when + timedelta(hours=2)
    with freeze_time(when):
        return maintenance.create_notice(
            users["agent"],
            kind=Kind.EMERGENCY,
            title="Core switch replacement",
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            organizations=[acme, globex],
            emergency_scenario="Roll back to the old switch.",
        )


# --- mark one -----------------------------------------------------------------------------------


def test_mark_one_read_leaves_the_others_and_keeps_the_filter(customer_items, users):
    client = login(users, "globex.user")
    user = users["globex.user"]
    items = list(bell(user).order_by("pk"))
    assert len(items) == 4 and all(n.read_at is None for n in items)
    page = client.get(LIST).text
    for n in items:  # a button per unread item
        assert f'action="{read_url(n)}"' in page

    first, *others = items
    response = client.post(read_url(first), {"kind": "status", "page": "1"})
    assert response.status_code == 302 and response["Location"] == f"{LIST}?kind=status"
    first.refresh_from_db()
    assert first.read_at is not None
    assert bell(user, read_at__isnull=True).count() == len(others)
    page = client.get(LIST).text
    assert f'action="{read_url(first)}"' not in page  # read: no button any more
    assert all(f'action="{read_url(n)}"' in page for n in others)

    # Marking it again changes nothing and is no error.
    read_at = first.read_at
    assert client.post(read_url(first)).status_code == 302
    first.refresh_from_db()
    assert first.read_at == read_at
    assert client.get(read_url(first)).status_code == 405


def test_someone_elses_item_is_404(customer_items, users):
    theirs = bell(users["globex.user"]).first()
    for name in ("globex.contact", "acme.user", "agent", "admin"):
        client = login(users, name)
        assert client.post(read_url(theirs)).status_code == 404
        assert client.get(open_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    # Their own e-mail row is no bell item either.
    mail_row = Notification.objects.filter(
        recipient=users["globex.user"], channel=Channel.EMAIL
    ).first()
    assert login(users, "globex.user").post(read_url(mail_row)).status_code == 404


def test_mark_all_of_a_kind_marks_only_that_kind_and_keeps_the_filter(customer_items, users):
    client = login(users, "globex.user")
    user = users["globex.user"]
    others = set(bell(user).exclude(inbox.kind_filter("update")).values_list("pk", flat=True))
    assert len(others) == 3 and bell(user, trigger__startswith="update:").count() == 1
    page = client.get(LIST, {"kind": "update"}).text
    assert "Mark all of this kind as read" in page and "Mark all as read" not in page

    response = client.post(reverse("notifications-read"), {"kind": "update"})
    assert response["Location"] == f"{LIST}?kind=update"
    assert not bell(user, trigger__startswith="update:", read_at__isnull=True).exists()
    assert set(bell(user, read_at__isnull=True).values_list("pk", flat=True)) == others
    page = client.get(LIST, {"kind": "update"}).text
    assert "Mark all of this kind as read" not in page  # nothing of this kind left to mark
    assert "Mark all as read" in client.get(LIST).text  # the other kinds still are unread


def test_mark_all_without_a_filter_marks_everything(customer_items, users, file_ticket):
    file_ticket(reporter="acme.user", priority=3)  # someone else's bell stays as it is
    theirs = Notification.objects.filter(channel=Channel.IN_APP).exclude(
        recipient=users["globex.user"]
    )
    unread_elsewhere = theirs.filter(read_at__isnull=True).count()
    assert unread_elsewhere
    client = login(users, "globex.user")
    assert "Mark all as read" in client.get(LIST).text
    assert client.get(LIST).text.count("Mark all") == 1

    response = client.post(reverse("notifications-read"), {"kind": ""})
    assert response.status_code == 302 and response["Location"] == LIST
    assert not bell(users["globex.user"], read_at__isnull=True).exists()
    assert theirs.filter(read_at__isnull=True).count() == unread_elsewhere
    assert "Mark all" not in client.get(LIST).text  # nothing left to mark


def test_mark_all_of_an_unknown_kind_marks_nothing(customer_items, users):
    response = login(users, "globex.user").post(reverse("notifications-read"), {"kind": "spam"})
    assert response.status_code == 400
    assert bell(users["globex.user"], read_at__isnull=True).count() == 4


def test_the_mark_all_buttons_in_dutch(customer_items, users):
    user = users["globex.user"]
    user.language = "nl"
    user.save(update_fields=["language"])
    client = login(users, "globex.user")
    assert "Alles als gelezen markeren" in client.get(LIST).text
    assert "Alles van deze soort als gelezen markeren" in client.get(LIST, {"kind": "status"}).text


# --- filter by kind -----------------------------------------------------------------------------


def test_filter_by_kind(customer_items, users):
    client = login(users, "globex.user")
    user = users["globex.user"]

    def listed(kind):
        response = client.get(LIST, {"kind": kind})
        assert response.status_code == 200
        return [row["n"].pk for row in response.context["rows"]]

    def pks(trigger_prefix):
        return set(bell(user, trigger__startswith=trigger_prefix).values_list("pk", flat=True))

    assert set(listed("update")) == pks("update:")
    assert set(listed("status")) == pks("receipt") | pks("waiting:")
    assert set(listed("priority")) == pks("priority:")
    assert listed("escalation") == listed("reminder") == listed("maintenance") == []
    assert len(listed("")) == 4
    page = client.get(LIST, {"kind": "priority"}).text
    assert '<option value="priority" selected>Priority changes</option>' in page
    assert client.get(LIST, {"kind": "maintenance"}).text.count("No notifications of this kind")

    # An unknown kind is a clear 400, not an empty list or a 500.
    refused = client.get(LIST, {"kind": "everything"})
    assert refused.status_code == 400
    assert "Choose one of the kinds" in refused.text


def test_every_kind_is_found_and_each_item_under_one_kind(file_ticket, users, acme, globex):
    """Escalations, reminders and maintenance too; no item falls under two kinds or none."""
    when = at(2026, 11, 25, 10, 0)
    with freeze_time(when):
        ticket = file_ticket(reporter="globex.user", priority=1)  # escalated at registration
    emergency_notice(users, acme, globex, when)
    oncall = users["oncall"]
    outbox.notify_all(
        [oncall],
        channels=(Channel.IN_APP,),
        ticket=ticket,
        trigger="reminder:test",
        template="reminder",
        context={"rule": "update"},
        now=when,
    )
    templates = ("change_step", "problem_report", "sla_route", "billing_time_billable")
    for template in (*templates, "bundle_low_balance"):
        outbox.notify_all(
            [oncall],
            channels=(Channel.IN_APP,),
            ticket=None if template in ("problem_report", "sla_route") else ticket,
            trigger=f"{template}:test",
            template=template,
            context={"url": "/"},
            now=when,
        )
    client = login(users, "oncall")
    found = {}
    for kind, _label in inbox.kind_choices():
        response = client.get(LIST, {"kind": kind})
        found[kind] = [row["n"].pk for row in response.context["rows"]]
    everything = sorted(bell(oncall).values_list("pk", flat=True))
    assert sorted(pk for pks in found.values() for pk in pks) == everything
    assert found["escalation"] and found["reminder"] and found["maintenance"]
    assert len(found["change"]) == len(found["problem"]) == 1 and len(found["contract"]) == 3


def test_the_filter_pages(customer_items, users):
    user = users["globex.user"]
    for n in range(30):
        outbox.notify_all(
            [user],
            channels=(Channel.IN_APP,),
            ticket=customer_items,
            trigger=f"update:extra{n}",
            template="customer",
            context={"event": "update", "body": f"Extra {n}"},
        )
    client = login(users, "globex.user")
    first = client.get(LIST, {"kind": "update"})
    assert len(first.context["rows"]) == 25
    assert "?kind=update&amp;page=2" in first.text  # the pages keep the filter
    second = client.get(LIST, {"kind": "update", "page": 2})
    assert len(second.context["rows"]) == 6  # 30 extra + the agent's update


# --- where items lead ----------------------------------------------------------------------------


def test_escalation_items_lead_to_the_acknowledge_page_then_the_escalations_row(file_ticket, users):
    ticket = file_ticket(reporter="globex.user", priority=1)
    escalation = Escalation.objects.get(ticket=ticket)
    oncall = users["oncall"]
    item = bell(oncall, template="escalation").get()
    client = login(users, "oncall")
    page = client.get(LIST, {"kind": "escalation"}).text
    assert f'href="{open_url(item)}"' in page

    opened = client.get(open_url(item))
    assert opened.status_code == 302
    assert opened["Location"].startswith("/escalations/ack/")
    ack_page = client.get(opened["Location"])
    assert ack_page.status_code == 200 and ticket.number in ack_page.text

    acknowledge(escalation, oncall)
    opened = client.get(open_url(item))
    assert opened["Location"] == f"/escalations/?show=all#escalation-{escalation.pk}"
    listing = client.get("/escalations/?show=all").text
    assert f'id="escalation-{escalation.pk}"' in listing


def test_customer_items_lead_to_the_ticket_and_maintenance_to_the_notice(
    customer_items, users, acme, globex
):
    notice = emergency_notice(users, acme, globex, at(2026, 11, 25, 10, 0))
    client = login(users, "globex.user")
    for item in bell(users["globex.user"]):
        location = client.get(open_url(item))["Location"]
        if item.template.startswith("maintenance_"):
            assert location == notice.get_absolute_url()
        else:
            assert location == customer_items.get_absolute_url()


# --- queries --------------------------------------------------------------------------------------


def test_the_list_costs_the_same_queries_for_many_items(file_ticket, users, acme, globex):
    """Every kind on one page; twice as many items cost not one query more."""
    oncall = users["oncall"]
    client = login(users, "oncall")

    def add_items(hour):
        when = at(2026, 11, 25, hour, 0)
        with freeze_time(when):
            ticket = file_ticket(reporter="globex.user", priority=1)
            services.add_update(ticket, users["agent"], "Engineer on the way.")
        emergency_notice(users, acme, globex, when)
        outbox.notify_all(
            [oncall],
            channels=(Channel.IN_APP,),
            ticket=ticket,
            trigger=f"reminder:{hour}",
            template="reminder",
            context={"rule": "update"},
            now=when,
        )

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(LIST)
        assert response.status_code == 200
        return len(captured), len(response.context["rows"])

    client.get(LIST)  # session, caches
    add_items(9)
    few, shown_few = queries()
    add_items(10)
    add_items(11)
    many, shown_many = queries()
    assert shown_many > shown_few >= 3
    assert {n.template for n in bell(oncall)} >= {"escalation", "reminder", "maintenance_announce"}
    assert many == few, (few, many)
