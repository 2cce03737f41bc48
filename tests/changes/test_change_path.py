"""The change path of issue 16 (SPEC §6, seed §5) through the API: every action per role, the
stage rules, the step clocks and their due times, the approvals, the notifications and tenant
isolation."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from changes import services as change_services
from changes.models import ChangeApproval, ChangeDocument, ChangeRequest
from escalation.models import Escalation, Notification
from sla.models import Clock
from sla.sweep import sweep
from tickets import services as ticket_services
from tickets.models import Attachment, Ticket

from .conftest import at

NOW = at(2026, 11, 25, 11, 0)  # an hour after the frozen filing time of `file_change`


def act(api, user, ticket, when=NOW, **data):
    with freeze_time(when):
        return api(user).post(f"/api/v1/tickets/{ticket.pk}/change/", data, format="json")


def change(ticket):
    return ChangeRequest.objects.get(ticket=ticket)


def clocks(ticket):
    return {c.target: c for c in Clock.objects.filter(ticket=ticket)}


@pytest.fixture
def step(api, users):
    """Take an action that must succeed; returns the response's `change`."""

    def _step(ticket, who, when=NOW, **data):
        response = act(api, users[who], ticket, when, **data)
        assert response.status_code == 200, response.content
        return response.json()["change"]

    return _step


# --- receipt and due times --------------------------------------------------------------------


def test_every_change_gets_its_request_receipt_and_quote_due_ten_calendar_days_on(
    file_change, users, api
):
    ticket = file_change()  # Wednesday 25-11-2026 10:00
    assert ticket.number.startswith("CHG-2026-")
    assert Notification.objects.filter(ticket=ticket, trigger="receipt").exists()
    with freeze_time(NOW):
        body = api(users["acme.contact"]).get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert body["change"]["stage"] == "requested"
    assert body["change"]["type"] is None
    assert body["change"]["quote_due_at"] == "2026-12-05T10:00:00+01:00"
    sla = {c["target"]: c for c in body["sla"]}
    assert set(sla) == {"pickup", "quote_notice", "quote"}
    # 10 calendar days: Saturday 5 December, same time of day
    assert sla["quote"]["due_at"] == "2026-12-05T10:00:00+01:00"
    # 3 working days: Thursday, Friday, (weekend,) Monday
    assert sla["quote_notice"]["due_at"] == "2026-11-30T10:00:00+01:00"


@pytest.mark.parametrize("reporter", ["acme.contact", "globex.contact"])
def test_the_quote_notice_counts_office_working_days_over_a_weekend_and_holidays(
    file_change, reporter
):
    """Thursday 24-12-2026: Christmas (Fri 25, Sat 26) and the weekend lie between; the office
    calendar counts also under Globex's 24/7 contract."""
    ticket = file_change(reporter, priority=2, when=at(2026, 12, 24, 10, 0))
    due = clocks(ticket)
    assert due["quote_notice"].due_at == at(2026, 12, 30, 10, 0)  # Mon 28, Tue 29, Wed 30
    assert due["quote"].due_at == at(2027, 1, 3, 10, 0)  # 10 calendar days, holidays included


def test_ten_calendar_days_keep_the_wall_clock_time_over_the_dst_change(file_change):
    ticket = file_change(when=at(2026, 10, 20, 10, 0))  # summer time; winter time from 25-10
    assert clocks(ticket)["quote"].due_at == at(2026, 10, 30, 10, 0)
    assert change(ticket).quote_due_at == at(2026, 10, 30, 10, 0)


def test_an_announced_date_moves_the_quote_clock_and_meets_the_notice(file_change, step):
    ticket = file_change()
    step(ticket, "agent", action="classify", type="exceptional", reason="New functionality")
    body = step(
        ticket, "agent", action="quote_notice", free=False, date="2026-12-18", note="Supplier"
    )
    assert body["quote_due_at"] == "2026-12-19T00:00:00+01:00"  # the end of the 18th
    assert body["quote_free"] is False
    due = clocks(ticket)
    assert due["quote"].due_at == at(2026, 12, 19, 0, 0)
    assert due["quote_notice"].stopped_at == NOW
    assert due["quote_notice"].state == "met"


def test_a_missed_quote_notice_and_quote_escalate_through_the_matrix(file_change, step):
    ticket = file_change()
    step(ticket, "agent", action="classify", type="exceptional", reason="New functionality")
    with freeze_time(at(2026, 11, 30, 10, 1)):
        sweep()
    raised = set(Escalation.objects.filter(ticket=ticket).values_list("trigger", "level"))
    assert raised == {("quote-notice-breached", "low")}
    with freeze_time(at(2026, 12, 5, 10, 1)):
        sweep()
    raised = set(Escalation.objects.filter(ticket=ticket).values_list("trigger", "level"))
    assert ("quote-breached", "middle") in raised


# --- roles (403 first) and stages (409 with the reason) ----------------------------------------

ROLE_CASES = [
    # (action, data, refused roles)
    ("classify", {"type": "medium", "reason": "r"}, ["acme.user", "acme.contact", "csm"]),
    ("verify", {"note": "n"}, ["acme.contact", "director"]),
    ("quote_notice", {"free": True}, ["acme.contact", "opsmanager"]),
    ("quote", {"free": True}, ["acme.user", "acme.contact", "csm"]),
    ("approve", {}, ["acme.user", "agent", "csm", "admin"]),
    ("reject", {}, ["acme.user", "agent", "opsmanager"]),
    ("provider_approve", {}, ["acme.user", "acme.contact", "agent", "admin"]),
    ("plan", {"planned_start": "2026-12-01T08:00", "planned_end": "2026-12-01T12:00"},
     ["acme.contact", "csm"]),
    ("start", {}, ["acme.user", "director"]),
    ("progress", {"note": "n"}, ["acme.contact", "csm"]),
    ("complete", {"note": "n"}, ["acme.contact", "director"]),
    ("cancel", {"reason": "r"}, ["acme.user", "acme.contact", "csm"]),
]  # fmt: skip


@pytest.mark.parametrize(("action", "data", "refused"), ROLE_CASES)
def test_the_role_is_checked_first(file_change, users, api, action, data, refused):
    """Whatever the stage (a fresh request), the wrong role gets 403 and nothing changes."""
    ticket = file_change("acme.user")
    for role in refused:
        response = act(api, users[role], ticket, action=action, **data)
        assert response.status_code == 403, (role, response.content)
    assert change(ticket).stage == "requested"
    assert not ChangeApproval.objects.exists()


STAGE_CASES = [
    # (action, data, what must be in the reason)
    ("approve", {}, "Classify the change first"),
    ("verify", {"note": "n"}, "Classify the change first"),
    ("plan", {"planned_start": "2026-12-01T08:00", "planned_end": "2026-12-01T12:00"},
     "Classify the change first"),
]  # fmt: skip


@pytest.mark.parametrize(("action", "data", "reason"), STAGE_CASES)
def test_before_classification_only_classify_and_cancel(
    file_change, users, api, action, data, reason
):
    ticket = file_change()
    who = "acme.contact" if action == "approve" else "agent"
    response = act(api, users[who], ticket, action=action, **data)
    assert response.status_code == 409
    assert reason in response.json()["detail"]


def test_stage_refusals_name_the_reason(file_change, users, api, step):
    ticket = file_change()
    step(ticket, "agent", action="classify", type="medium", reason="Average impact")
    refusals = [
        ("agent", {"action": "plan", "planned_start": "2026-12-01T08:00",
                   "planned_end": "2026-12-01T12:00"}, "planned once it is approved"),
        ("agent", {"action": "start"}, "starts once it is planned"),
        ("agent", {"action": "complete", "note": "n"}, "completed once it is in progress"),
        ("agent", {"action": "progress", "note": "n"}, "while it is in progress"),
        ("csm", {"action": "provider_approve"}, "Only a large change"),
    ]  # fmt: skip
    for who, data, reason in refusals:
        response = act(api, users[who], ticket, **data)
        assert response.status_code == 409, (data, response.content)
        assert reason in response.json()["detail"], response.json()
    assert change(ticket).stage == "classified"


def test_a_standard_change_has_no_quote(file_change, users, api, step):
    ticket = file_change("acme.user")
    body = step(ticket, "agent", action="classify", type="standard", reason="Small, 5 minutes")
    assert body["stage"] == "classified"  # a customer user filed it: a contact approves
    assert set(clocks(ticket)) == {"pickup"}  # the quote's step clocks are waived
    for data in ({"action": "quote", "free": True}, {"action": "quote_notice", "free": True}):
        response = act(api, users["agent"], ticket, **data)
        assert response.status_code == 409
        assert "standard change has no" in response.json()["detail"]


# --- the routes ---------------------------------------------------------------------------------


def test_standard_filed_by_a_contact_is_approved_by_the_request_and_done(
    file_change, users, api, step
):
    ticket = file_change("acme.contact")
    body = step(ticket, "agent", action="classify", type="standard", reason="Small, 5 minutes")
    assert body["stage"] == "approved"
    assert [(a["what"], a["by"], a["decision"], a["side"]) for a in body["approvals"]] == [
        ("change", "acme.contact", "approved", "customer")
    ]
    body = step(ticket, "agent", action="complete", note="Extension 215 added.")
    assert body["stage"] == "completed"
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    with freeze_time(NOW + timedelta(hours=1)):
        ticket_services.confirm_resolution(ticket, users["acme.contact"])
    assert change(ticket).stage == "closed"


def test_standard_filed_by_a_user_waits_for_one_click_of_a_contact(file_change, users, api, step):
    ticket = file_change("acme.user")
    step(ticket, "agent", action="classify", type="standard", reason="Small")
    body = step(ticket, "acme.contact", action="approve", note="Go ahead")
    assert body["stage"] == "approved"
    assert body["approvals"][0]["by"] == "acme.contact"
    assert body["approvals"][0]["note"] == "Go ahead"
    # the contact was asked: the classification notice reached them (and the reporter)
    told = Notification.objects.filter(
        ticket=ticket, trigger__startswith="status:chg-classified", channel="email"
    )
    assert sorted(told.values_list("recipient__username", flat=True)) == [
        "acme.contact",
        "acme.user",
    ]


def test_a_change_raised_from_an_incident_is_non_standard(make_ticket, file_change, users, api):
    incident = make_ticket()
    ticket = file_change("acme.contact")
    change_services.describe(ticket, users["agent"], raised_from=incident)
    response = act(api, users["agent"], ticket, action="classify", type="standard", reason="r")
    assert response.status_code == 400
    assert "non-standard" in str(response.json()["type"])
    with freeze_time(NOW):
        body = api(users["agent"]).get(f"/api/v1/tickets/{ticket.pk}/").json()["change"]
    assert body["non_standard"] is True and body["raised_from"] == incident.pk


def test_exceptional_path_from_request_to_close(file_change, users, api, step):
    ticket = file_change("acme.user")
    step(ticket, "agent", action="classify", type="exceptional", reason="New application")
    body = step(ticket, "agent", action="verify", note="Content checked, supplier consulted")
    assert body["stage"] == "verification"
    step(ticket, "agent", action="quote_notice", free=False)  # the 10 days stand, not free
    assert clocks(ticket)["quote_notice"].state == "met"
    # the costs need approval: the change itself cannot be approved without the quote
    response = act(api, users["acme.contact"], ticket, action="approve")
    assert response.status_code == 409
    step(ticket, "agent", action="quote", free=False, amount="1200.00")
    body = step(ticket, "agent", action="quote", free=False, amount="1100.00")
    assert [(d["version"], d["status"]) for d in body["documents"]] == [
        (1, "superseded"),
        (2, "sent"),
    ]
    assert clocks(ticket)["quote"].state == "met"
    # a superseded version cannot be approved
    response = act(api, users["acme.contact"], ticket, action="approve", version=1)
    assert response.status_code == 409
    assert "superseded by version 2" in response.json()["detail"]
    body = step(ticket, "acme.contact", action="approve", note="Costs approved")
    assert body["stage"] == "approved"
    assert body["approvals"] == [
        {
            "what": "quote", "version": 2, "by": "acme.contact", "at": "2026-11-25T11:00:00+01:00",
            "decision": "approved", "side": "customer", "note": "Costs approved",
        }
    ]  # fmt: skip
    assert ChangeDocument.objects.get(change__ticket=ticket, version=2).status == "approved"
    # the decided version cannot be decided again
    response = act(api, users["acme.contact"], ticket, action="reject", version=2)
    assert response.status_code == 409
    # planning: missing, inverted and past dates are 400
    for bad in (
        {"planned_start": "2026-12-02T08:00"},
        {"planned_start": "2026-12-02T12:00", "planned_end": "2026-12-02T08:00"},
        {"planned_start": "2026-11-20T08:00", "planned_end": "2026-11-20T12:00"},
        {"planned_start": "2026-12-02T08:00", "planned_end": "not a date"},
    ):
        response = act(api, users["agent"], ticket, action="plan", **bad)
        assert response.status_code == 400, (bad, response.content)
    body = step(
        ticket, "agent", action="plan",
        planned_start="2026-12-02T08:00", planned_end="2026-12-02T12:00",
    )  # fmt: skip
    assert body["stage"] == "planned"
    assert body["planned_start"] == "2026-12-02T08:00:00+01:00"
    assert step(ticket, "agent", action="start")["stage"] == "in_progress"
    step(ticket, "agent", action="progress", note="Half of the lines moved.")
    assert step(ticket, "agent", action="complete", note="Done and accepted.")["stage"] == (
        "completed"
    )
    response = act(api, users["agent"], ticket, action="cancel", reason="too late")
    assert response.status_code == 409
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    with freeze_time(NOW + timedelta(hours=2)):
        ticket_services.confirm_resolution(ticket, users["acme.user"])
    assert change(ticket).stage == "closed"


def test_after_a_rejection_a_new_version_or_cancel(file_change, users, api, step):
    ticket = file_change("acme.contact")
    step(ticket, "agent", action="classify", type="medium", reason="Average")
    step(ticket, "agent", action="quote", free=False, amount="300")
    body = step(ticket, "acme.contact", action="reject", note="Too expensive")
    assert body["stage"] == "rejected"
    assert body["documents"][0]["status"] == "rejected"
    assert body["approvals"][0]["decision"] == "rejected"
    response = act(api, users["agent"], ticket, action="plan",
                   planned_start="2026-12-02T08:00", planned_end="2026-12-02T12:00")  # fmt: skip
    assert response.status_code == 409
    body = step(ticket, "agent", action="quote", free=False, amount="250")
    assert body["stage"] == "quoted"
    assert [(d["version"], d["status"]) for d in body["documents"]] == [
        (1, "rejected"),
        (2, "sent"),
    ]
    body = step(ticket, "agent", action="cancel", reason="Customer chose another supplier")
    assert body["stage"] == "cancelled"
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    for data in ({"action": "approve"}, {"action": "quote", "free": True}):
        who = users["acme.contact" if data["action"] == "approve" else "agent"]
        assert act(api, who, ticket, **data).status_code == 409


def test_a_large_change_needs_both_approvals_of_its_rfc(file_change, users, api, step):
    ticket = file_change("acme.user")
    step(ticket, "agent", action="classify", type="large", reason="Project: new telephony")
    response = act(api, users["acme.contact"], ticket, action="approve")
    assert response.status_code == 409  # decided on its RFC
    body = step(ticket, "agent", action="quote", free=False, amount="25000")
    assert body["documents"][0]["kind"] == "rfc"
    # the provider's managers are asked
    asked = Notification.objects.filter(ticket=ticket, trigger__startswith="change_rfc:")
    assert set(asked.values_list("recipient__username", flat=True)) == {
        "csm",
        "opsmanager",
        "director",
    }
    body = step(ticket, "acme.contact", action="approve")
    assert body["stage"] == "quoted"  # waits for the provider
    response = act(api, users["agent"], ticket, action="plan",
                   planned_start="2026-12-02T08:00", planned_end="2026-12-02T12:00")  # fmt: skip
    assert response.status_code == 409
    response = act(api, users["acme.contact"], ticket, action="approve")
    assert response.status_code == 409  # the customer's side decided already
    body = step(ticket, "csm", action="provider_approve", note="Resources available")
    assert body["stage"] == "approved"
    assert {(a["what"], a["version"], a["side"], a["by"]) for a in body["approvals"]} == {
        ("rfc", 1, "customer", "acme.contact"),
        ("rfc", 1, "provider", "csm"),
    }
    assert body["documents"][0]["status"] == "approved"
    body = step(ticket, "agent", action="plan",
                planned_start="2026-12-02T08:00", planned_end="2026-12-04T17:00")  # fmt: skip
    assert body["stage"] == "planned"


def test_a_ticket_closed_without_completion_cancels_the_change(file_change, users):
    ticket = file_change("acme.user")
    with freeze_time(NOW):
        from tickets import participation

        participation.withdraw(ticket, users["acme.user"], "Not needed any more")
    assert change(ticket).stage == "cancelled"


def test_a_change_ticket_is_resolved_only_by_completing_the_change(file_change, users, api, step):
    # No change is carried out before it is approved (seed §5): resolving its ticket through
    # the ticket's own state machine would skip the approval, so it is refused (409).
    ticket = file_change("acme.user")
    step(ticket, "agent", action="classify", type="medium", reason="A few extensions")
    with freeze_time(NOW):
        response = api(users["agent"]).post(
            f"/api/v1/tickets/{ticket.pk}/transition/",
            {"status": "resolved", "note": "done"},
            format="json",
        )
    assert response.status_code == 409, response.content
    assert "completing" in response.json()["detail"]
    ticket.refresh_from_db()
    assert ticket.status != "resolved" and change(ticket).stage == "classified"


# --- notifications: every step once, never to the one who acted ---------------------------------


def test_every_step_is_told_once_to_the_requester(file_change, users, api, step):
    ticket = file_change("acme.user")
    step(ticket, "agent", action="classify", type="exceptional", reason="New")
    step(ticket, "agent", action="verify", note="checked")
    step(ticket, "agent", action="verify", note="consulted")  # the same step: not told again
    step(ticket, "agent", action="quote_notice", free=True)
    step(ticket, "agent", action="quote", free=True)
    step(ticket, "acme.contact", action="approve")
    step(ticket, "agent", action="plan",
         planned_start="2026-12-02T08:00", planned_end="2026-12-02T12:00")  # fmt: skip
    step(ticket, "agent", action="start")
    mails = Notification.objects.filter(
        ticket=ticket, recipient=users["acme.user"], channel="email", template="change_step"
    )
    steps = sorted(n.context["step"] for n in mails)
    assert steps == sorted(
        ["classified", "verification", "quote_notice", "document", "decided", "planned",
         "started"]
    )  # fmt: skip
    # the contact hears the quote (approval request) but not of their own approval
    contact_steps = [
        n.context["step"]
        for n in Notification.objects.filter(
            ticket=ticket, recipient=users["acme.contact"], channel="email"
        ).exclude(trigger="receipt")
    ]
    assert "document" in contact_steps and "decided" not in contact_steps


def test_the_messages_are_in_the_recipients_language(file_change, users, step):
    from escalation.delivery import render_email

    users["acme.user"].language = "nl"
    users["acme.user"].save()
    ticket = file_change("acme.user")
    step(ticket, "agent", action="classify", type="medium", reason="Gemiddeld")
    step(ticket, "agent", action="quote", free=False, amount="300")
    notification = Notification.objects.get(
        ticket=ticket, recipient=users["acme.user"], channel="email", context__step="document"
    )
    message = render_email(notification)
    assert "offerte" in message.subject.lower()
    assert "300" in message.body


# --- input, tenant isolation and query counts ---------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"action": "explode"},
        {},
        {"action": "quote_notice", "free": True, "date": "99999-01-01"},
        {"action": "quote_notice", "free": True, "date": "2020-01-01"},
        {"action": "quote", "free": True, "amount": "-5"},
        {"action": "quote", "free": True, "attachment": 10**30},
        {"action": "approve_hack"},
    ],
)
def test_bad_input_is_a_400(file_change, users, api, step, data):
    ticket = file_change()
    step(ticket, "agent", action="classify", type="exceptional", reason="r")
    who = users["agent"]
    response = act(api, who, ticket, **data)
    assert response.status_code == 400, response.content


def test_a_quote_names_only_a_visible_attachment_of_the_same_ticket(
    file_change, users, api, step, make_ticket
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    ticket = file_change()
    other = file_change("globex.contact")
    step(ticket, "agent", action="classify", type="exceptional", reason="r")
    theirs = ticket_services.add_attachment(
        other, users["agent"], SimpleUploadedFile("q.pdf", b"%PDF-1.4 x")
    )
    internal = ticket_services.add_attachment(
        ticket, users["agent"], SimpleUploadedFile("i.pdf", b"%PDF-1.4 x"), internal=True
    )
    for attachment in (theirs, internal):
        response = act(api, users["agent"], ticket, action="quote", free=True,
                       attachment=attachment.pk)  # fmt: skip
        assert response.status_code == 400
    ours = ticket_services.add_attachment(
        ticket, users["agent"], SimpleUploadedFile("quote.pdf", b"%PDF-1.4 x")
    )
    body = step(ticket, "agent", action="quote", free=True, attachment=ours.pk)
    assert body["documents"][0]["attachment"] == ours.pk
    assert Attachment.objects.filter(pk=ours.pk).exists()


def test_another_organisations_change_is_404(file_change, users, api, step):
    ticket = file_change("acme.contact")
    step(ticket, "agent", action="classify", type="medium", reason="r")
    step(ticket, "agent", action="quote", free=True)
    for who in ("globex.contact", "globex.user"):
        assert act(api, users[who], ticket, action="approve").status_code == 404
        with freeze_time(NOW):
            assert api(users[who]).get(f"/api/v1/tickets/{ticket.pk}/").status_code == 404
    # a colleague who is a customer user sees it only if they reported or watch it
    assert act(api, users["acme.user2"], ticket, action="approve").status_code == 404
    assert change(ticket).stage == "quoted"


def test_the_list_reads_the_change_objects_in_constant_queries(file_change, users, api):
    def list_queries():
        with freeze_time(NOW), CaptureQueriesContext(connection) as ctx:
            response = api(users["agent"]).get("/api/v1/tickets/?page_size=100")
        assert response.status_code == 200
        return len(ctx.captured_queries), response.json()

    for _ in range(2):
        ticket = file_change()
        change_services.act(ticket, users["agent"], "classify", {"type": "medium", "reason": "r"})
    small, _ = list_queries()
    for _ in range(6):
        ticket = file_change()
        change_services.act(ticket, users["agent"], "classify", {"type": "medium", "reason": "r"})
        change_services.act(ticket, users["agent"], "quote", {"free": True})
        change_services.act(ticket, users["acme.contact"], "approve", {})
    large, body = list_queries()
    assert small == large
    assert {row["change"]["stage"] for row in body["results"]} == {"classified", "approved"}


def test_other_kinds_carry_no_change(make_ticket, users, api):
    ticket = make_ticket()
    body = api(users["agent"]).get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert body["change"] is None
    response = api(users["agent"]).post(
        f"/api/v1/tickets/{ticket.pk}/change/", {"action": "classify", "type": "medium",
                                                 "reason": "r"}, format="json"
    )  # fmt: skip
    assert response.status_code == 409


def test_a_wished_date_in_the_past_is_refused(file_change, users):
    from django.core.exceptions import ValidationError

    ticket = file_change()
    with pytest.raises(ValidationError):
        change_services.describe(ticket, users["agent"], wished_date=date(2000, 1, 1))
    assert Ticket.objects.filter(pk=ticket.pk).exists()


def test_the_provider_rejects_an_rfc_with_a_reason_and_a_new_version_needs_both_again(
    file_change, users, api, step
):
    ticket = file_change("acme.user")
    step(ticket, "agent", action="classify", type="large", reason="Project")
    step(ticket, "agent", action="quote", free=False, amount="25000")
    step(ticket, "acme.contact", action="approve")
    response = act(api, users["csm"], ticket, action="provider_reject")
    assert response.status_code == 400 and "note" in response.json()  # the reason is required
    body = step(ticket, "csm", action="provider_reject", note="No engineers before March")
    assert body["stage"] == "rejected"
    assert body["documents"][0]["status"] == "rejected"
    assert [(a["version"], a["side"], a["decision"], a["note"]) for a in body["approvals"]] == [
        (1, "customer", "approved", ""),
        (1, "provider", "rejected", "No engineers before March"),
    ]
    response = act(api, users["agent"], ticket, action="plan",
                   planned_start="2026-12-02T08:00", planned_end="2026-12-02T12:00")  # fmt: skip
    assert response.status_code == 409
    # version 2: the customer's approval of version 1 does not count for it
    step(ticket, "agent", action="quote", free=False, amount="27000")
    step(ticket, "csm", action="provider_approve", note="Capacity found")
    response = act(api, users["agent"], ticket, action="plan",
                   planned_start="2026-12-02T08:00", planned_end="2026-12-02T12:00")  # fmt: skip
    assert response.status_code == 409
    assert "must both approve the same RFC version" in response.json()["detail"]
    body = step(ticket, "acme.contact", action="approve")
    assert body["stage"] == "approved"
    # the requester heard of the provider's rejection, with the reason
    told = Notification.objects.get(
        ticket=ticket, recipient=users["acme.user"], channel="email",
        context__step="decided", context__side="provider", context__decision="rejected",
    )  # fmt: skip
    assert told.context["note"] == "No engineers before March"


def test_a_draft_quote_is_kept_unseen_and_sent_later(file_change, users, api, step):
    ticket = file_change("acme.user")
    step(ticket, "agent", action="classify", type="exceptional", reason="New application")
    body = step(ticket, "agent", action="quote", draft=True, free=False, amount="900")
    assert body["stage"] == "classified"  # nothing sent: no stage, no clock, nobody told
    assert [(d["version"], d["status"], d["amount"]) for d in body["documents"]] == [
        (1, "draft", "900.00")
    ]
    body = step(ticket, "agent", action="quote", draft=True, amount="950")  # saved again
    assert [(d["version"], d["status"], d["amount"]) for d in body["documents"]] == [
        (1, "draft", "950.00")
    ]
    assert clocks(ticket)["quote"].stopped_at is None
    assert not Notification.objects.filter(ticket=ticket, context__step="document").exists()
    with freeze_time(NOW):
        seen = api(users["acme.contact"]).get(f"/api/v1/tickets/{ticket.pk}/").json()["change"]
    assert seen["documents"] == []  # the customer does not see a draft
    response = act(api, users["acme.contact"], ticket, action="approve", version=1)
    assert response.status_code in (400, 409)
    assert ChangeDocument.objects.get(change__ticket=ticket).status == "draft"
    body = step(ticket, "agent", action="quote")  # send the draft as it stands
    assert body["stage"] == "quoted"
    assert [(d["version"], d["status"], d["amount"], d["free"]) for d in body["documents"]] == [
        (1, "sent", "950.00", False)
    ]
    assert clocks(ticket)["quote"].state == "met"
    assert Notification.objects.filter(
        ticket=ticket, recipient=users["acme.user"], context__step="document"
    ).exists()
    # a draft of version 2; the customer still decides on version 1, which the draft does
    # not supersede until it is sent
    step(ticket, "agent", action="quote", draft=True, free=False, amount="800")
    body = step(ticket, "agent", action="quote", free=False, amount="850")
    assert [(d["version"], d["status"], d["amount"]) for d in body["documents"]] == [
        (1, "superseded", "950.00"),
        (2, "sent", "850.00"),
    ]
    body = step(ticket, "acme.contact", action="approve")
    assert body["approvals"][0]["version"] == 2


def test_a_draft_sent_free_of_charge_drops_its_amount(file_change, step):
    ticket = file_change("acme.user")
    step(ticket, "agent", action="classify", type="medium", reason="Average")
    step(ticket, "agent", action="quote", draft=True, free=False, amount="300")
    body = step(ticket, "agent", action="quote", free=True)
    assert [(d["status"], d["free"], d["amount"]) for d in body["documents"]] == [
        ("sent", True, None)
    ]


def test_a_change_ticket_from_before_the_change_path_shows_an_empty_change(file_change, users, api):
    """A change ticket without its change request (registered before the change path, or
    loaded in bulk) answers 200 in the list and on its own, with an unclassified change and
    no documents or approvals (it answered 500: the unsaved request's related rows)."""
    ticket = file_change()
    ChangeRequest.objects.filter(ticket=ticket).delete()
    client = api(users["agent"])
    single = client.get(f"/api/v1/tickets/{ticket.pk}/")
    assert single.status_code == 200
    change = single.json()["change"]
    assert change["documents"] == change["approvals"] == []
    assert change["type"] is None
    listed = client.get("/api/v1/tickets/", {"kind": "change"})
    assert listed.status_code == 200
    row = next(r for r in listed.json()["results"] if r["id"] == ticket.pk)
    assert row["change"] == change
