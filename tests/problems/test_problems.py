"""Problems and known errors (issue 16 build item 4, SPEC §7, seed §6): raising a problem from
incidents of several organisations, the API contract, known-error matching on a new incident,
the workaround sent exactly once per person, the fix through a closed change (incidents resolved,
e-mails exactly once), following a known error, and tenant isolation."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection

from changes import services as change_services
from changes.models import ChangeRequest
from escalation.delivery import deliver
from escalation.models import Channel, Escalation, Notification
from problems import matching, services
from problems.models import KnownError, KnownErrorFollower, Problem, WorkaroundSent
from tickets import services as ticket_services
from tickets.models import Kind, Ticket


def emails_to(username):
    return [m for m in mail.outbox if f"{username}@example.com" in m.to]


def deliver_all():
    pending = Notification.objects.filter(status="pending", channel=Channel.EMAIL)
    for pk in pending.order_by("pk").values_list("pk", flat=True):
        deliver(pk)


# --- the problem --------------------------------------------------------------------------------


def test_a_problem_is_a_problem_ticket_from_incidents_of_any_organisations(problem, incidents):
    ticket = problem.ticket
    assert ticket.kind == Kind.PROBLEM and ticket.number.startswith("PRB-")
    assert ticket.priority == 1  # high impact, high urgency
    assert problem.owner.username == "agent"
    assert {link.incident_id for link in problem.links.all()} == {i.pk for i in incidents}
    assert ticket.organization_id == incidents[0].organization_id


def test_a_p1_problem_raises_no_escalation_nor_receipt_and_has_no_clocks(problem):
    ticket = problem.ticket
    assert not Escalation.objects.filter(ticket=ticket).exists()
    assert not Notification.objects.filter(ticket=ticket).exists()
    assert ticket.next_due_at is None


def test_the_sla_sweep_raises_nothing_for_a_p1_problem(problem):
    from django.utils import timezone

    from sla.sweep import sweep

    sweep(timezone.now())
    sweep(timezone.now() + timedelta(days=3))
    assert not Escalation.objects.filter(ticket=problem.ticket).exists()
    assert not Notification.objects.filter(ticket=problem.ticket).exists()


@pytest.mark.parametrize(
    "impact,urgency,priority",
    [("high", "high", 1), ("high", "medium", 2), ("medium", "medium", 3), ("low", "low", 4)],
)
def test_impact_and_urgency_give_the_priority(users, incidents, impact, urgency, priority):
    problem = services.raise_problem(
        users["agent"], title="t", description="d", impact=impact, urgency=urgency,
        incidents=incidents[:1],
    )  # fmt: skip
    assert problem.ticket.priority == priority


def test_changing_impact_changes_the_priority_with_a_reason(problem, users):
    services.update_problem(problem, users["agent"], impact="low", urgency="medium")
    problem.ticket.refresh_from_db()
    assert problem.ticket.priority == 4
    last = problem.ticket.priority_changes.order_by("-changed_at", "-pk").first()
    assert last.new_priority == 4 and last.reason


def test_customers_cannot_register_a_problem(users, api):
    response = api(users["acme.contact"]).post(
        "/api/v1/tickets/", {"title": "x", "description": "y", "kind": "problem"}, format="json"
    )
    assert response.status_code == 403
    assert not Ticket.objects.filter(kind=Kind.PROBLEM).exists()


@pytest.mark.parametrize("username", ["acme.user", "acme.contact", "globex.contact"])
def test_customers_never_see_a_problem(problem, users, api, client, username):
    ticket = problem.ticket
    user = users[username]
    assert not Ticket.objects.visible_to(user).filter(pk=ticket.pk).exists()
    c = api(user)
    assert c.get(f"/api/v1/tickets/{ticket.pk}/").status_code == 404
    listed = c.get("/api/v1/tickets/?page_size=100").json()["results"]
    assert ticket.number not in [r["number"] for r in listed]
    assert ticket.number not in str(c.get(f"/api/v1/tickets/?search={ticket.number}").json())
    for url in ("/api/v1/problems/", f"/api/v1/problems/{ticket.pk}/"):
        assert c.get(url).status_code == 404
    assert c.post(f"/api/v1/problems/{ticket.pk}/link/", {"ticket": 1}).status_code == 404
    client.force_login(user)
    assert client.get(ticket.get_absolute_url()).status_code == 404


# --- the API ----------------------------------------------------------------------------------


def test_staff_create_read_patch_and_link_problems(users, api, incidents, globex):
    agent = api(users["agent"])
    response = agent.post(
        "/api/v1/problems/",
        {"title": "Transfers drop", "description": "See the incidents.", "impact": "medium",
         "urgency": "high", "incidents": [incidents[0].pk]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("PRB-") and body["priority"] == 2
    assert body["incidents"] == [incidents[0].pk] and body["owner"] == "agent"
    pk = body["id"]
    response = agent.patch(
        f"/api/v1/problems/{pk}/",
        {"root_cause": "SBC firmware", "urgency": "low", "owner": "oncall"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["priority"] == 4 and response.json()["owner"] == "oncall"
    response = agent.post(f"/api/v1/problems/{pk}/link/", {"ticket": incidents[2].pk})
    assert response.status_code == 200
    assert response.json()["incidents"] == [incidents[0].pk, incidents[2].pk]
    # Twice is once.
    agent.post(f"/api/v1/problems/{pk}/link/", {"ticket": incidents[2].pk})
    assert Problem.objects.get(ticket_id=pk).links.count() == 2
    listed = agent.get("/api/v1/problems/?open=true").json()
    assert [r["id"] for r in listed["results"]] == [pk]
    assert agent.get("/api/v1/problems/?open=false").json()["count"] == 0
    # A problem is linked to incidents only; bad input is a 400.
    assert agent.post(f"/api/v1/problems/{pk}/link/", {"ticket": pk}).status_code == 400
    assert agent.post(f"/api/v1/problems/{pk}/link/", {"ticket": "x"}).status_code == 400
    assert agent.post("/api/v1/problems/", {"title": "t", "description": "d"}).status_code == 400
    response = agent.post(
        "/api/v1/problems/",
        {"title": "t", "description": "d", "organization": globex.pk, "impact": "bad"},
    )
    assert response.status_code == 400


def test_managers_read_and_raise_problems_owned_by_nobody_yet(users, api, problem, globex):
    # Managers raise problems from the incident trends (issue 16 item 7): a worker owns it later.
    manager = api(users["csm"])
    assert manager.get(f"/api/v1/problems/{problem.ticket_id}/").status_code == 200
    response = manager.post(
        "/api/v1/problems/", {"title": "t", "description": "d", "organization": globex.pk}
    )
    assert response.status_code == 201
    assert Problem.objects.get(ticket_id=response.json()["id"]).owner is None


def test_the_problem_list_reads_in_constant_queries(
    users, api, incidents, django_assert_max_num_queries
):
    for n in range(4):
        services.raise_problem(users["agent"], title=f"p{n}", description="d", incidents=incidents)
    with django_assert_max_num_queries(12):
        response = api(users["agent"]).get("/api/v1/problems/")
    assert response.json()["count"] == 4


def test_known_errors_are_read_per_organisation(known_error, users, api, acme):
    staff = api(users["agent"]).get("/api/v1/known-errors/").json()
    assert [r["id"] for r in staff["results"]] == [known_error.pk]
    assert staff["results"][0]["root_cause"]
    contact = api(users["acme.user"]).get("/api/v1/known-errors/").json()
    assert [r["id"] for r in contact["results"]] == [known_error.pk]
    assert "root_cause" not in contact["results"][0] and "problem" not in contact["results"][0]
    other = api(users["globex.contact"])
    assert other.get("/api/v1/known-errors/").json()["count"] == 0
    assert other.get(f"/api/v1/known-errors/{known_error.pk}/").status_code == 404
    assert other.post(f"/api/v1/known-errors/{known_error.pk}/follow/").status_code == 404
    response = other.post(f"/api/v1/known-errors/{known_error.pk}/send-workaround/")
    assert response.status_code == 404
    found = api(users["acme.user"]).get("/api/v1/known-errors/?search=doorverbinden").json()
    assert [r["id"] for r in found["results"]] == [known_error.pk]
    nothing = api(users["acme.user"]).get("/api/v1/known-errors/?search=printer").json()
    assert nothing["count"] == 0


def test_a_customer_cannot_send_the_workaround(known_error, users, api):
    response = api(users["acme.contact"]).post(
        f"/api/v1/known-errors/{known_error.pk}/send-workaround/"
    )
    assert response.status_code == 403
    assert not WorkaroundSent.objects.exists()


# --- matching -----------------------------------------------------------------------------------


def test_a_new_incident_is_matched_to_known_errors_of_its_service(
    known_error, make_ticket, acme, users
):
    other = services.save_known_error(
        known_error.problem, users["agent"], title="Printer prints blank pages",
        symptoms="Lege pagina's", workaround="Restart the spooler.",
    )  # fmt: skip
    incident = make_ticket(
        "acme.contact",
        title="Gesprek valt weg bij doorverbinden",
        description="Na het doorverbinden is de beller weg.",
        service=acme.services.first(),
    )
    assert matching.for_incident(incident) == [known_error]
    printer = make_ticket("acme.contact", title="Printer geeft lege pagina's", description="x")
    assert matching.for_incident(printer)[0] == other
    unrelated = make_ticket("acme.contact", title="Wifi traag", description="Langzaam netwerk")
    assert matching.for_incident(unrelated) == []


def test_a_known_error_of_another_service_is_not_suggested(known_error, make_ticket, globex):
    known_error.services.set([globex.services.first()])  # datacenter, not telephony
    incident = make_ticket(
        "acme.contact", title="Gesprek valt weg bij doorverbinden", description="idem",
        service=known_error.problem.ticket.organization.services.first(),
    )  # fmt: skip
    assert matching.for_incident(incident) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text ranking")
def test_postgresql_ranks_the_title_above_the_workaround(known_error, users, make_ticket):
    weaker = services.save_known_error(
        known_error.problem, users["agent"], title="Headset issue",
        workaround="After doorverbinden reconnect the headset.",
    )  # fmt: skip
    incident = make_ticket("acme.contact", title="Doorverbinden faalt", description="storingen")
    assert matching.for_incident(incident) == [known_error, weaker]


# --- the workaround, exactly once per person ------------------------------------------------------


def test_the_workaround_goes_once_to_each_reporter_and_contact(known_error, users, make_ticket):
    # acme.user reports a second linked incident: still one message.
    second = make_ticket("acme.user", title="Again a dropped call")
    services.link_incident(known_error.problem, users["agent"], second)
    deliver_all()  # the receipts
    mail.outbox.clear()
    told = services.send_workaround(known_error, users["agent"])
    people = {"acme.user", "acme.user2", "acme.contact", "globex.user", "globex.contact"}
    assert told == len(people)
    assert {w.user.username for w in WorkaroundSent.objects.all()} == people
    assert services.send_workaround(known_error, users["agent"]) == 0  # twice is once
    deliver_all()
    for username in people:
        assert len(emails_to(username)) == 1, username
    assert "operator console" in emails_to("acme.user")[0].body
    # A newly linked incident's reporter is told on the next run, nobody else again.
    late = make_ticket("acme.contact", title="Dropped on transfer")
    services.link_incident(known_error.problem, users["agent"], late)
    assert services.send_workaround(known_error, users["agent"]) == 0  # acme.contact had it
    assert Notification.objects.filter(
        trigger=f"ke_workaround:{known_error.pk}", channel=Channel.EMAIL
    ).count() == len(people)


def test_the_workaround_through_the_api_twice_is_once(known_error, users, api):
    agent = api(users["agent"])
    url = f"/api/v1/known-errors/{known_error.pk}/send-workaround/"
    assert agent.post(url).json() == {"told": 5}
    assert agent.post(url).json() == {"told": 0}


# --- the fix: a closed change resolves the open incidents ---------------------------------------


@pytest.fixture
def fix_change(users, known_error):
    change_ticket = ticket_services.create_ticket(
        actor=users["acme.contact"], kind="change", priority=3, title="Upgrade SBC firmware",
        description="Fixes dropped transfers.",
    )  # fmt: skip
    change = ChangeRequest.objects.get(ticket=change_ticket)
    services.save_known_error(known_error.problem, users["agent"], known_error, fix_change=change)
    return change


def close_change(change, users):
    ticket = change.ticket
    change_services.act(ticket, users["agent"], "classify", {"type": "standard", "reason": "r"})
    change_services.act(ticket, users["agent"], "complete", {"note": "Firmware upgraded."})
    ticket.refresh_from_db()
    ticket_services.confirm_resolution(ticket, users["acme.contact"])


def test_closing_the_fix_change_resolves_the_open_incidents_once(
    known_error, fix_change, incidents, users
):
    incidents[1].refresh_from_db()
    fixed = {"resolution_type": "definitive", "resolution_cause": "c", "resolution_how": "h"}
    ticket_services.transition(incidents[1], users["agent"], "resolved", resolution=fixed)
    services.follow(known_error, users["acme.contact"])
    deliver_all()
    mail.outbox.clear()
    close_change(fix_change, users)
    known_error.refresh_from_db()
    assert known_error.fixed_at is not None
    for incident in (incidents[0], incidents[2]):
        incident.refresh_from_db()
        assert incident.status == "resolved"
        assert incident.resolution_type == "definitive"
        assert known_error.title in incident.resolution_how
        assert fix_change.ticket.number in incident.resolution_how
        assert incident.updates.filter(visibility="public", body__contains=fix_change.ticket.number)
    deliver_all()
    assert len(emails_to("acme.user")) == 1  # resolved: confirm or reject, once
    assert len(emails_to("globex.user")) == 1
    assert len(emails_to("acme.user2")) == 0  # resolved before, nothing again
    followers = [m for m in emails_to("acme.contact") if known_error.title in m.subject]
    assert len(followers) == 1
    assert KnownErrorFollower.objects.get().told_at is not None
    # The receiver running again (the change closed twice) changes nothing.
    services.fix_by_change(fix_change)
    deliver_all()
    assert len(emails_to("acme.user")) == 1


def test_a_cancelled_change_fixes_nothing(known_error, fix_change, incidents, users):
    change_services.act(fix_change.ticket, users["agent"], "cancel", {"reason": "Not needed"})
    known_error.refresh_from_db()
    assert known_error.fixed_at is None
    incidents[0].refresh_from_db()
    assert incidents[0].status != "resolved"


# --- following ------------------------------------------------------------------------------------


def test_a_customer_follows_a_published_known_error(known_error, users, api):
    url = f"/api/v1/known-errors/{known_error.pk}/follow/"
    response = api(users["acme.user"]).post(url, {"follow": True}, format="json")
    assert response.json() == {"following": True}
    assert api(users["acme.user"]).get("/api/v1/known-errors/").json()["results"][0]["following"]
    api(users["acme.user"]).post(url, {"follow": True}, format="json")
    assert KnownErrorFollower.objects.count() == 1
    assert api(users["acme.user"]).post(url, {"follow": False}, format="json").json() == {
        "following": False
    }
    with pytest.raises(PermissionDenied):
        services.follow(known_error, users["globex.user"])
    assert api(users["agent"]).post(url).status_code == 403


def test_the_known_error_has_a_problem(known_error):
    assert KnownError.objects.get().problem.ticket.kind == Kind.PROBLEM
