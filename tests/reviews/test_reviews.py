"""The post-incident review of a P1 incident (issue 16 item 5, SPEC §3.3): its due date (5 working
days after the resolution), the reminders until it is filed, filing and publishing through the
API and the ticket page, its actions, and who may see it."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import translation
from freezegun import freeze_time

from escalation import inbox
from escalation.models import Notification
from reviews.models import PostIncidentReview, ReviewAction
from reviews.notifications import message_for
from sla.models import TicketSla
from sla.sweep import sweep
from tickets import services

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
RESOLUTION = {
    "resolution_type": "definitive",
    "resolution_cause": "Broken core switch",
    "resolution_how": "Replaced it",
}
REVIEW = {
    "timeline": "10:00 calls fail\n10:05 on-call paged\n11:00 switch replaced",
    "cause": "A firmware bug in the core switch.",
    "impact": "Nobody at Acme could call for an hour.",
    "went_well": "Paged within five minutes.",
    "went_wrong": "The spare switch was at the wrong site.",
}


def at(*args):
    return datetime(*args, tzinfo=AMS)


@pytest.fixture
def p1(users, contracts):
    """A P1 incident of Acme (office hours), filed and resolved at the moments given."""

    def _file(reported, resolved=None, priority=1, reporter="acme.user"):
        with freeze_time(reported):
            ticket = services.create_ticket(
                actor=users[reporter], title="Telephony down", description="All lines.",
                priority=priority,
            )  # fmt: skip
        if resolved is not None:
            with freeze_time(resolved):
                services.take(ticket, users["oncall"])
                services.transition(ticket, users["oncall"], "resolved", resolution=RESOLUTION)
        ticket.refresh_from_db()
        return ticket

    return _file


def url(ticket):
    return f"/api/v1/tickets/{ticket.pk}/review/"


def pir_reminders(ticket):
    return Notification.objects.filter(
        ticket=ticket, template="reminder", context__rule="pir", channel="email"
    ).count()


def test_due_five_working_days_after_resolution_over_a_weekend_and_christmas(p1, users, api):
    # Resolved Wednesday 23 December 2026; Friday 25 December (Christmas) and the weekend are
    # no working days: Thu 24, Mon 28, Tue 29, Wed 30, Thu 31.
    ticket = p1(at(2026, 12, 23, 9, 0), resolved=at(2026, 12, 23, 11, 0))
    assert TicketSla.objects.get(ticket=ticket).pir_due_at == at(2026, 12, 31, 11, 0)
    with freeze_time(at(2026, 12, 23, 12, 0)):
        body = api(users["agent"]).get(url(ticket)).json()
    assert body["due_at"] == "2026-12-31T11:00:00+01:00"
    assert body["filed_at"] is None and body["published"] is False and body["actions"] == []


def test_reminders_every_working_day_until_the_review_is_filed(p1, users, api):
    ticket = p1(at(2026, 12, 23, 9, 0), resolved=at(2026, 12, 23, 11, 0))
    with freeze_time(at(2026, 12, 31, 11, 1)):
        sweep()
    assert pir_reminders(ticket) == 1
    with freeze_time(at(2027, 1, 4, 11, 1)):  # Friday 1 January is New Year's Day
        sweep()
    assert pir_reminders(ticket) == 2
    with freeze_time(at(2027, 1, 4, 14, 0)):
        response = api(users["oncall"]).put(url(ticket), REVIEW, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["filed_at"] == "2027-01-04T14:00:00+01:00"
    assert response.json()["author"] == "oncall"
    terms = TicketSla.objects.get(ticket=ticket)
    assert terms.pir_filed_at == at(2027, 1, 4, 14, 0)
    for day in (5, 6, 7):
        with freeze_time(at(2027, 1, day, 11, 1)):
            sweep()
    assert pir_reminders(ticket) == 2  # no more reminders once filed
    # amending does not file it again
    with freeze_time(at(2027, 1, 8, 9, 0)):
        api(users["agent"]).put(url(ticket), {**REVIEW, "impact": "One hour."}, format="json")
    assert TicketSla.objects.get(ticket=ticket).pir_filed_at == at(2027, 1, 4, 14, 0)
    assert PostIncidentReview.objects.get().impact == "One hour."


def test_published_reviews_are_read_by_the_authorised_contacts_only(p1, users, api, client):
    ticket = p1(at(2026, 11, 24, 9, 0), resolved=at(2026, 11, 24, 11, 0), reporter="acme.user")
    page = reverse("ticket-detail", kwargs={"number": ticket.number})
    api(users["agent"]).put(url(ticket), REVIEW, format="json")
    for who in ("acme.contact", "acme.user", "globex.contact", "globex.user"):
        assert api(users[who]).get(url(ticket)).status_code == 404, who
    client.force_login(users["acme.contact"])
    assert "post-incident-review" not in client.get(page).content.decode()
    response = api(users["agent"]).put(url(ticket), {**REVIEW, "published": True}, format="json")
    assert response.json()["published"] is True and response.json()["published_at"]
    body = api(users["acme.contact"]).get(url(ticket))
    assert body.status_code == 200 and body.json()["cause"] == REVIEW["cause"]
    # the authorised contacts are told once (e-mail and bell), nobody else
    api(users["agent"]).put(url(ticket), {**REVIEW, "published": True}, format="json")
    told = Notification.objects.filter(ticket=ticket, template="review_published")
    assert sorted(told.values_list("recipient__username", "channel")) == [
        ("acme.contact", "email"), ("acme.contact", "in_app")
    ]  # fmt: skip
    with translation.override("en"):
        assert "is published" in message_for(told.first())[0]
    bell = told.filter(channel="in_app")
    assert bell.filter(inbox.kind_filter("update")).count() == 1  # the bell's "updates"
    html = client.get(page).content.decode()
    assert "post-incident-review" in html and "firmware bug" in html
    assert "Save the review" not in html and 'name="timeline"' not in html
    # the reporter (a customer user) and the other organisation never read it
    for who in ("acme.user", "globex.contact", "globex.user"):
        assert api(users[who]).get(url(ticket)).status_code == 404, who
    client.force_login(users["acme.user"])
    assert "firmware bug" not in client.get(page).content.decode()
    # a contact can read but not write
    assert api(users["acme.contact"]).put(url(ticket), REVIEW, format="json").status_code == 403
    assert api(users["acme.user"]).put(url(ticket), REVIEW, format="json").status_code == 404


def test_only_resolved_p1_incidents_have_a_review(p1, users, api):
    p2 = p1(at(2026, 11, 24, 9, 0), resolved=at(2026, 11, 24, 11, 0), priority=2)
    for method in ("get", "put"):
        response = getattr(api(users["agent"]), method)(url(p2), REVIEW, format="json")
        assert response.status_code == 409
        assert "P1" in str(response.json())
    assert api(users["acme.contact"]).get(url(p2)).status_code == 409
    open_p1 = p1(at(2026, 11, 24, 9, 0))
    assert api(users["agent"]).get(url(open_p1)).status_code == 200
    assert api(users["agent"]).put(url(open_p1), REVIEW, format="json").status_code == 409
    resolved = p1(at(2026, 11, 24, 9, 0), resolved=at(2026, 11, 24, 11, 0))
    missing = {k: v for k, v in REVIEW.items() if k != "cause"}
    response = api(users["agent"]).put(url(resolved), missing, format="json")
    assert response.status_code == 400 and "cause" in response.json()
    assert not PostIncidentReview.objects.exists()


def test_actions_with_owners_and_due_dates_are_tracked_until_done(p1, users, api):
    ticket = p1(at(2026, 11, 24, 9, 0), resolved=at(2026, 11, 24, 11, 0))
    actions = [
        {"description": "Keep a spare switch on site", "owner": "opsmanager", "due": "2026-12-15"},
        {"description": "Test the failover", "owner": "acme.contact", "due": "2027-01-15"},
    ]
    agent = api(users["agent"])
    body = agent.put(url(ticket), {**REVIEW, "actions": actions}, format="json").json()
    assert [(a["owner"], a["done"]) for a in body["actions"]] == [
        ("opsmanager", False), ("acme.contact", False)
    ]  # fmt: skip
    first = body["actions"][0]
    # a PUT with the action's id keeps its row; one left out is removed
    again = agent.put(
        url(ticket), {**REVIEW, "actions": [{**first, "done": True}]}, format="json"
    ).json()
    assert again["actions"] == [{**first, "done": True}]
    action = ReviewAction.objects.get()
    assert action.pk == first["id"] and action.done and action.done_at is not None
    foreign = [{"description": "x", "owner": "globex.contact", "due": "2026-12-01"}]
    assert agent.put(url(ticket), {**REVIEW, "actions": foreign}, format="json").status_code == 400
    bad_day = [{"description": "x", "owner": "agent", "due": "10000-01-01"}]
    assert agent.put(url(ticket), {**REVIEW, "actions": bad_day}, format="json").status_code == 400


def test_staff_file_the_review_and_track_actions_on_the_ticket_page(p1, users, client):
    ticket = p1(at(2026, 11, 24, 9, 0), resolved=at(2026, 11, 24, 11, 0))
    client.force_login(users["agent"])
    page = reverse("ticket-detail", kwargs={"number": ticket.number})
    html = client.get(page).content.decode()
    assert 'id="post-incident-review"' in html and 'name="timeline"' in html
    target = reverse("ticket-review", kwargs={"number": ticket.number})
    assert client.post(target, {"timeline": "t", "cause": ""}).status_code == 400
    assert client.post(target, {**REVIEW, "published": "on"}).status_code == 302
    review = PostIncidentReview.objects.get()
    assert review.published and review.author == users["agent"]
    assert TicketSla.objects.get(ticket=ticket).pir_filed_at is not None
    add = reverse("ticket-review-action", kwargs={"number": ticket.number})
    response = client.post(
        add,
        {"description": "Spare on site", "owner": users["opsmanager"].pk, "due": "2020-01-31"},
    )
    assert response.status_code == 302
    html = client.get(page).content.decode()
    assert 'id="review-open-actions"' in html and "Spare on site" in html
    done = reverse("ticket-review-action-done", kwargs={"number": ticket.number})
    action = ReviewAction.objects.get()
    assert client.post(done, {"action": str(action.pk), "done": "1"}).status_code == 302
    action.refresh_from_db()
    assert action.done and action.due == date(2020, 1, 31)
    assert 'id="review-open-actions"' not in client.get(page).content.decode()
    # customers cannot post to the review's routes
    client.force_login(users["acme.contact"])
    client.post(target, {**REVIEW, "cause": "Hijacked"})
    assert PostIncidentReview.objects.get().cause == REVIEW["cause"]


def test_an_overdue_action_reminds_its_owner_once_the_morning_after(p1, users, api):
    ticket = p1(at(2026, 11, 24, 9, 0), resolved=at(2026, 11, 24, 11, 0))
    actions = [
        {"description": "Spare switch on site", "owner": "opsmanager", "due": "2026-12-01"},
        {"description": "Test the failover", "owner": "agent", "due": "2026-12-20"},
    ]
    with freeze_time(at(2026, 11, 25, 10, 0)):
        api(users["oncall"]).put(url(ticket), {**REVIEW, "actions": actions}, format="json")
    with freeze_time(at(2026, 12, 1, 12, 0)):
        sweep()  # what came due before (the SLA events of the history, the auto-close)
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert ticket.next_sla_check_at == at(2026, 12, 2, 8, 0)

    def overdue(user):
        return Notification.objects.filter(
            ticket=ticket, recipient=users[user], template="review_action_overdue"
        )

    with freeze_time(at(2026, 12, 2, 7, 59)):
        sweep()
    assert not overdue("opsmanager").exists()
    for minute in (1, 2):  # twice: still once
        with freeze_time(at(2026, 12, 2, 8, minute)):
            sweep()
    assert overdue("opsmanager").count() == 2  # e-mail and bell
    bell = overdue("opsmanager").filter(channel="in_app")
    assert bell.filter(inbox.kind_filter("reminder")).count() == 1  # the bell's "reminders"
    mail = overdue("opsmanager").get(channel="email")
    with translation.override("en"):
        subject, body, _extra = message_for(mail)
    assert ticket.number in subject and "Spare switch on site" in body and "01-12-2026" in body
    ticket.refresh_from_db()
    assert ticket.next_sla_check_at == at(2026, 12, 21, 8, 0)  # the next action's morning
    # done in time: no reminder
    second = ReviewAction.objects.get(description="Test the failover")
    with freeze_time(at(2026, 12, 18, 9, 0)):
        services_done(ticket, users["agent"], second)
    with freeze_time(at(2026, 12, 21, 8, 5)):
        sweep()
    assert not overdue("agent").exists()


def services_done(ticket, user, action):
    from reviews import services as review_services

    review_services.set_action_done(ticket, user, action)


def test_retention_masks_the_review_and_hands_customer_actions_to_the_placeholder(p1, users, api):
    from privacy import services as privacy

    ticket = p1(at(2026, 11, 24, 9, 0), resolved=at(2026, 11, 24, 11, 0))
    with freeze_time(at(2026, 11, 24, 12, 0)):
        services.confirm_resolution(ticket, users["acme.user"])
    texts = {**REVIEW, "impact": "Anna (anna@acme.example, 06-12345678) could not call."}
    actions = [
        {"description": "Call anna@acme.example", "owner": "acme.contact", "due": "2026-12-01"}
    ]
    with freeze_time(at(2026, 11, 25, 10, 0)):
        api(users["agent"]).put(url(ticket), {**texts, "actions": actions}, format="json")
    with freeze_time(at(2028, 12, 1, 10, 0)):
        numbers, _messages = privacy.anonymise_expired()
    assert numbers == [ticket.number]
    review = PostIncidentReview.objects.get()
    assert "anna@acme.example" not in review.impact and "06-12345678" not in review.impact
    assert review.cause == REVIEW["cause"]  # the service history stays
    action = ReviewAction.objects.get()
    assert "anna@acme.example" not in action.description
    assert action.owner.username == f"anonymous-{ticket.organization_id}"


def test_the_personal_data_export_holds_reviews_written_and_actions_owned(p1, users, api):
    from privacy.export import export_person

    ticket = p1(at(2026, 11, 24, 9, 0), resolved=at(2026, 11, 24, 11, 0))
    actions = [{"description": "Test the failover", "owner": "acme.contact", "due": "2026-12-01"}]
    with freeze_time(at(2026, 11, 25, 10, 0)):
        api(users["agent"]).put(url(ticket), {**REVIEW, "actions": actions}, format="json")
    owned = export_person(users["acme.contact"], via="test")["review_actions_owned"]
    assert owned == [{"ticket": ticket.number, "description": "Test the failover",
                      "due": "2026-12-01", "done": False}]  # fmt: skip
    written = export_person(users["agent"], via="test")["reviews_written"]
    assert [row["ticket"] for row in written] == [ticket.number]
