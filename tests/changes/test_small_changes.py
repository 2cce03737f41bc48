"""Small changes (issue 18 item 2, seed 004 "Kleine wijzigingen", SPEC §10): the provider's
estimate decides the route and the portal enforces it. Under 45 minutes the work is done at
once and offered on the acceptance environment, production after the customer's approval; from
45 minutes up to 4 hours an estimate the customer accepts before the work starts; over 4 hours
or a new application or form always a quote. Through the API and the page, per role."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from changes import services as change_services
from changes.models import ChangeRequest, route_for
from escalation.models import Notification
from sla.models import Clock
from tickets.models import AuditEntry, Ticket

from .conftest import at

NOW = at(2026, 11, 25, 11, 0)
ROLES = ("acme.user", "acme.contact", "agent", "csm")


def act(api, user, ticket, **data):
    with freeze_time(NOW):
        return api(user).post(f"/api/v1/tickets/{ticket.pk}/change/", data, format="json")


def change(ticket):
    return ChangeRequest.objects.get(ticket=ticket)


@pytest.fixture
def step(api, users):
    """Take an action that must succeed; returns the response's `change`."""

    def _step(ticket, who, **data):
        response = act(api, users[who], ticket, **data)
        assert response.status_code == 200, response.content
        return response.json()["change"]

    return _step


@pytest.fixture
def medium(file_change, step):
    """A medium change of acme.user, classified (not yet estimated)."""

    def _medium(type_="medium"):
        ticket = file_change("acme.user")
        step(ticket, "agent", action="classify", type=type_, reason="Existing website")
        return ticket

    return _medium


def refused(response, words):
    assert response.status_code == 409, response.content
    assert words in response.json()["detail"], response.json()


# --- the routes and their boundaries ------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "new_application", "route", "stage"),
    [
        (1, False, "direct", "classified"),
        (44, False, "direct", "classified"),
        (45, False, "estimate", "estimated"),
        (240, False, "estimate", "estimated"),
        (241, False, "quote", "classified"),
        (44, True, "quote", "classified"),  # a new application or form: always a quote
    ],
)
def test_the_estimate_decides_the_route(medium, step, minutes, new_application, route, stage):
    ticket = medium()
    body = step(
        ticket, "agent", action="estimate", estimate_minutes=minutes,
        new_application=new_application,
    )  # fmt: skip
    assert (body["route"], body["stage"], body["estimate_minutes"]) == (route, stage, minutes)
    assert body["new_application"] is new_application
    assert change(ticket).estimate_minutes == minutes
    assert change_services.estimate_minutes(ticket) == minutes  # for the bundles
    estimates = [d for d in body["documents"] if d["kind"] == "estimate"]
    if route == "estimate":  # sent to the customer as version 1
        assert [(d["version"], d["status"], d["minutes"]) for d in estimates] == [
            (1, "sent", minutes)
        ]
    else:
        assert estimates == []
    # the quote's step clocks go for a small change and stay for a quoted one
    quote_clocks = Clock.objects.filter(ticket=ticket, target__in=("quote", "quote_notice"))
    assert quote_clocks.exists() is (route == "quote")


def test_route_for_and_the_helper_without_an_estimate(file_change, make_ticket):
    assert route_for(None) is None
    assert route_for(44, type_="large") == "quote"  # a large change goes through its RFC
    assert route_for(240, type_="exceptional") == "quote"
    assert change_services.estimate_minutes(file_change()) is None
    assert change_services.estimate_minutes(make_ticket()) is None  # an incident


def test_a_standard_change_is_never_quoted(file_change, step, api, users):
    ticket = file_change("acme.user")
    step(ticket, "agent", action="classify", type="standard", reason="Small")
    before = AuditEntry.objects.filter(ticket=ticket).count()
    for data in ({"estimate_minutes": 241}, {"estimate_minutes": 10, "new_application": True}):
        response = act(api, users["agent"], ticket, action="estimate", **data)
        refused(response, "standard change has none")
    assert change(ticket).estimate_minutes is None
    assert AuditEntry.objects.filter(ticket=ticket).count() == before
    # and a change estimated over 4 hours cannot become standard
    other = file_change("acme.user")
    step(other, "agent", action="classify", type="medium", reason="r")
    step(other, "agent", action="estimate", estimate_minutes=300)
    response = act(api, users["agent"], other, action="classify", type="standard", reason="r")
    refused(response, "always goes through a quote")
    assert change(other).type == "medium"


@pytest.mark.parametrize("bad", [0, -5, 100_001, "many", None])
def test_a_bad_estimate_is_a_400(medium, api, users, bad):
    ticket = medium()
    response = act(api, users["agent"], ticket, action="estimate", estimate_minutes=bad)
    assert response.status_code == 400, response.content
    assert "estimate_minutes" in response.json()
    assert change(ticket).estimate_minutes is None


# --- under 45 minutes: done at once, then the customer's approval, then production --------------


def test_the_direct_route(medium, step, api, users):
    ticket = medium()
    step(ticket, "agent", action="estimate", estimate_minutes=30, note="Tekst aanpassen")
    # no prior approval: the work starts at once
    assert step(ticket, "agent", action="start")["stage"] == "in_progress"
    # production only after the customer's approval of the result
    refused(
        act(api, users["agent"], ticket, action="complete", note="done"),
        "has not approved the result on the acceptance environment",
    )
    body = step(ticket, "agent", action="offer", note="Zie acceptatie.example.nl/contact")
    assert body["stage"] == "acceptance"
    refused(
        act(api, users["agent"], ticket, action="complete", note="done"),
        "has not approved the result",
    )
    # a rejection needs what is wrong, and sends the work back
    response = act(api, users["acme.contact"], ticket, action="reject")
    assert response.status_code == 400 and "note" in response.json()
    body = step(ticket, "acme.contact", action="reject", note="Verkeerd telefoonnummer")
    assert body["stage"] == "in_progress"
    step(ticket, "agent", action="offer", note="Nummer verbeterd")
    body = step(ticket, "acme.contact", action="approve", note="Goed zo")
    assert body["stage"] == "accepted"
    assert [(a["what"], a["decision"]) for a in body["approvals"]] == [
        ("result", "rejected"),
        ("result", "approved"),
    ]
    body = step(ticket, "agent", action="complete", note="Op productie gezet")
    assert body["stage"] == "completed"
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"
    actions = list(
        AuditEntry.objects.filter(ticket=ticket, action__startswith="change_").values_list(
            "action", flat=True
        )
    )
    for action in ("change_estimate", "change_start", "change_offer", "change_result_rejected",
                   "change_result_approved", "change_complete"):  # fmt: skip
        assert action in actions
    # the requester heard the route and the offer; the contacts were asked to approve
    told = Notification.objects.filter(ticket=ticket, channel="email", template="change_step")
    for who in ("acme.user", "acme.contact"):
        steps = {n.context["step"] for n in told.filter(recipient=users[who])}
        assert "offered" in steps, who
    assert told.filter(recipient=users["acme.user"], context__step="estimated").count() == 1


def test_the_direct_route_may_offer_at_once(medium, step):
    ticket = medium()
    step(ticket, "agent", action="estimate", estimate_minutes=15)
    body = step(ticket, "agent", action="offer", note="Klaar op acceptatie")
    assert body["stage"] == "acceptance" and body["started_at"] is not None


# --- 45 minutes up to 4 hours: the estimate first ----------------------------------------------


@pytest.mark.parametrize("minutes", [45, 240])
def test_the_estimate_route_starts_only_after_acceptance(medium, step, api, users, minutes):
    ticket = medium()
    step(ticket, "agent", action="estimate", estimate_minutes=minutes)
    for action in ("start", "offer", "complete"):
        refused(
            act(api, users["agent"], ticket, action=action, note="n"),
            "has not accepted the estimate",
        )
    # the change itself cannot be approved around the estimate
    body = step(ticket, "acme.contact", action="approve", note="Akkoord")
    assert body["stage"] == "approved"
    assert [(a["what"], a["version"]) for a in body["approvals"]] == [("estimate", 1)]
    assert body["documents"][0]["status"] == "approved"
    assert step(ticket, "agent", action="start")["stage"] == "in_progress"  # no window needed
    assert step(ticket, "agent", action="complete", note="Klaar")["stage"] == "completed"


def test_a_rejected_estimate_is_estimated_again(medium, step, api, users):
    ticket = medium()
    step(ticket, "agent", action="estimate", estimate_minutes=120)
    assert step(ticket, "acme.contact", action="reject", note="Te veel")["stage"] == "rejected"
    refused(act(api, users["agent"], ticket, action="start"), "has not accepted the estimate")
    body = step(ticket, "agent", action="estimate", estimate_minutes=90)
    assert body["stage"] == "estimated"
    assert [(d["version"], d["status"], d["minutes"]) for d in body["documents"]] == [
        (1, "rejected", 120),
        (2, "sent", 90),
    ]
    # a re-estimate while one waits supersedes it; under 45 minutes the change goes direct
    body = step(ticket, "agent", action="estimate", estimate_minutes=40)
    assert (body["route"], body["stage"]) == ("direct", "classified")
    assert body["documents"][1]["status"] == "superseded"
    assert step(ticket, "agent", action="start")["stage"] == "in_progress"


# --- over 4 hours or a new application: always a quote ------------------------------------------


@pytest.mark.parametrize(
    "data", [{"estimate_minutes": 241}, {"estimate_minutes": 60, "new_application": True}]
)
def test_the_quote_route_refuses_the_other_routes(medium, step, api, users, data):
    ticket = medium()
    step(ticket, "agent", action="estimate", **data)
    refused(act(api, users["acme.contact"], ticket, action="approve"), "goes through a quote")
    refused(act(api, users["agent"], ticket, action="start"), "goes through a quote")
    refused(act(api, users["agent"], ticket, action="offer", note="n"), "goes through a quote")
    assert not change(ticket).approvals.exists()
    # the quote path works
    step(ticket, "agent", action="quote", free=False, amount="1200")
    step(ticket, "acme.contact", action="approve")
    step(ticket, "agent", action="plan",
         planned_start="2026-12-02T08:00", planned_end="2026-12-02T12:00")  # fmt: skip
    assert step(ticket, "agent", action="start")["stage"] == "in_progress"


def test_the_estimate_cannot_change_once_approved(medium, step, api, users):
    ticket = medium()
    step(ticket, "agent", action="estimate", estimate_minutes=60)
    step(ticket, "acme.contact", action="approve")
    response = act(api, users["agent"], ticket, action="estimate", estimate_minutes=600)
    refused(response, "can no longer be changed")
    assert change(ticket).estimate_minutes == 60


# --- roles: 403 before 409 ------------------------------------------------------------------------

# action -> (the role allowed, its data, the estimate that brings the change to a stage allowing
# it, the steps after that)
MATRIX = {
    "estimate": ("agent", {"estimate_minutes": 30}, None, []),
    "offer": ("agent", {"note": "n"}, 30, []),
    "approve": ("acme.contact", {}, 60, []),  # the estimate
    "reject": ("acme.contact", {"note": "no"}, 60, []),
}
RESULT = {"approve": ("acme.contact", {}), "reject": ("acme.contact", {"note": "wrong"})}


def prepared(medium, step, minutes, steps=()):
    ticket = medium()
    if minutes is not None:
        step(ticket, "agent", action="estimate", estimate_minutes=minutes)
    for who, data in steps:
        step(ticket, who, **data)
    return ticket


def state(ticket):
    c = change(ticket)
    return (c.stage, c.estimate_minutes, c.documents.count(), c.approvals.count(),
            AuditEntry.objects.filter(ticket=ticket).count())  # fmt: skip


@pytest.mark.parametrize(("action", "role"), [(a, r) for a in MATRIX for r in ROLES])
def test_each_small_change_action_is_taken_by_its_role_only(medium, step, api, users, action,
                                                            role):  # fmt: skip
    allowed, data, minutes, steps = MATRIX[action]
    ticket = prepared(medium, step, minutes, steps)
    before = state(ticket)
    response = act(api, users[role], ticket, action=action, **data)
    if role == allowed:
        assert response.status_code == 200, response.content
        assert state(ticket) != before
    else:
        assert response.status_code == 403, response.content
        assert state(ticket) == before


@pytest.mark.parametrize(("decision", "role"), [(d, r) for d in RESULT for r in ROLES])
def test_only_an_authorised_contact_decides_on_the_result(medium, step, api, users, decision,
                                                          role):  # fmt: skip
    allowed, data = RESULT[decision]
    ticket = prepared(medium, step, 30, [("agent", {"action": "offer", "note": "n"})])
    before = state(ticket)
    response = act(api, users[role], ticket, action=decision, **data)
    if role == allowed:
        assert response.status_code == 200, response.content
        assert change(ticket).stage == ("accepted" if decision == "approve" else "in_progress")
    else:
        assert response.status_code == 403, response.content
        assert state(ticket) == before


@pytest.mark.parametrize(("action", "role"), [(a, r) for a in MATRIX for r in ROLES])
def test_the_role_is_refused_before_the_route(medium, step, api, users, action, role):
    """Over 4 hours nothing of the small routes is allowed: the wrong role still hears 403."""
    allowed, data, _minutes, _steps = MATRIX[action]
    ticket = prepared(medium, step, 300)
    step(ticket, "agent", action="quote", free=False, amount="900")  # the estimate is frozen
    before = state(ticket)
    response = act(api, users[role], ticket, action=action, **data)
    if role == allowed:
        if action in ("approve", "reject"):  # the quote is what waits: deciding on it works
            assert response.status_code == 200, response.content
            return
        assert response.status_code == 409, response.content
        assert response.json()["detail"]
    else:
        assert response.status_code == 403, response.content
    assert state(ticket) == before


def test_other_organisations_see_nothing(medium, step, api, users):
    ticket = prepared(medium, step, 60)
    for who in ("globex.user", "globex.contact"):
        assert act(api, users[who], ticket, action="approve").status_code == 404
        assert api(users[who]).get(f"/api/v1/tickets/{ticket.pk}/").status_code == 404
    assert change(ticket).stage == "estimated"


# --- what the customer sees -----------------------------------------------------------------------


def text_of(response):
    html = re.sub(r"<script.*?</script>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def page(users, who, ticket, language):
    users[who].language = language
    users[who].save()
    client = Client()
    client.force_login(users[who])
    with freeze_time(NOW):
        response = client.get(ticket.get_absolute_url())
    assert response.status_code == 200
    return text_of(response)


@pytest.mark.parametrize(
    ("language", "route", "contact_next", "user_next"),
    [
        ("en", "Estimate first", "Accept or reject the estimate below",
         "An authorised contact of your organisation accepts or rejects the estimate"),
        ("nl", "Eerst een schatting", "Accepteer de schatting hieronder of wijs haar af",
         "Een geautoriseerde contactpersoon van uw organisatie accepteert de schatting of "
         "wijst haar af"),
    ],
)  # fmt: skip
def test_the_customer_sees_the_route_and_what_is_expected(medium, step, users, language, route,
                                                          contact_next, user_next):  # fmt: skip
    ticket = prepared(medium, step, 90)
    seen = page(users, "acme.contact", ticket, language)
    assert route in seen and contact_next in seen
    assert "1 h 30 min" in seen if language == "en" else "1 u 30 min" in seen
    seen = page(users, "acme.user", ticket, language)
    assert route in seen and user_next in seen and contact_next not in seen


def test_the_page_follows_the_direct_route(medium, step, users, file_change):
    ticket = prepared(medium, step, 20)
    assert "Nothing yet: we carry out the change" in page(users, "acme.user", ticket, "en")
    step(ticket, "agent", action="offer", note="n")
    seen = page(users, "acme.contact", ticket, "en")
    assert "Check the result on the acceptance environment" in seen
    step(ticket, "acme.contact", action="approve")
    assert "we deliver the change to production" in page(users, "acme.user", ticket, "en")
    # staff see the route but nobody tells them what the customer must do
    seen = page(users, "agent", ticket, "en")
    assert "Done at once, then your acceptance" in seen and "What we expect of you" not in seen
    # not estimated yet
    fresh = file_change("acme.user")
    assert "not estimated yet" in page(users, "acme.user", fresh, "en")


def test_the_agent_estimates_and_offers_on_the_page(medium, users):
    ticket = medium()
    client = Client()
    client.force_login(users["agent"])
    url = reverse("ticket-change", args=[ticket.number])
    with freeze_time(NOW):
        response = client.post(url, {"action": "estimate", "estimate_minutes": "abc"})
        assert response.status_code == 400
        response = client.post(url, {"action": "estimate", "estimate_minutes": "25"})
        assert response.status_code == 302
        assert 'data-change-step="offer"' in client.get(ticket.get_absolute_url()).content.decode()
        response = client.post(url, {"action": "offer", "note": "Op acceptatie"})
        assert response.status_code == 302
    assert change(ticket).stage == "acceptance"


def test_the_schema_documents_the_estimate_and_the_route(api, users):
    schema = api(users["agent"]).get("/api/schema/?format=json").json()
    change_schema = schema["components"]["schemas"]["Change"]["properties"]
    assert {"estimate_minutes", "new_application", "route"} <= set(change_schema)
    action = schema["components"]["schemas"]["ChangeActionRequest"]["properties"]
    assert "estimate_minutes" in action and "new_application" in action


def test_the_notices_speak_the_recipients_language(medium, step, users):
    from escalation.delivery import render_email

    users["acme.user"].language = "nl"
    users["acme.user"].save()
    estimated = prepared(medium, step, 90)
    notice = Notification.objects.get(
        ticket=estimated, recipient=users["acme.user"], channel="email", context__step="estimated"
    )
    message = render_email(notice)
    assert "schatting" in message.subject and "1 u 30 min" in message.subject
    assert "geautoriseerde contactpersoon" in message.body and "meervragen" in message.body
    direct = prepared(medium, step, 30, [("agent", {"action": "offer", "note": "Zie /contact"})])
    notice = Notification.objects.get(
        ticket=direct, recipient=users["acme.user"], channel="email", context__step="offered"
    )
    message = render_email(notice)
    assert "acceptatieomgeving" in message.subject and "Zie /contact" in message.body
    # the contacts are asked to decide on the offer; the requester is told once
    assert Notification.objects.filter(
        ticket=direct, recipient=users["acme.contact"], channel="email", context__step="offered"
    ).exists()
