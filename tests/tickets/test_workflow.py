"""The status state machine (SPEC §3.2): every (from, to) pair for every role."""

import itertools
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tickets import services, workflow
from tickets.models import AuditEntry, Kind, Status, Ticket, TicketUpdate
from tickets.services import IllegalTransition

STATUSES = [
    "new",
    "planned_internal",
    "planned_external",
    "waiting_for_customer",
    "response_received",
    "waiting_for_supplier",
    "resolved",
    "closed",
]

# Hand-written from SPEC §3.2 (not derived from tickets.workflow). "worker" = agent, on-call
# engineer, admin; "customer" = the reporter or an authorised contact of the organisation;
# "system" = the automatic rules. Managers read, they do not move tickets.
W, C, Y = "worker", "customer", "system"
EXPECTED = {
    # New: registered, not yet taken. The provider plans, asks, hands off or resolves.
    ("new", "planned_internal"): {W},
    ("new", "planned_external"): {W},
    ("new", "waiting_for_customer"): {W},
    ("new", "waiting_for_supplier"): {W},
    ("new", "resolved"): {W},
    # Planned internal: taken, planned for later.
    ("planned_internal", "planned_external"): {W},
    ("planned_internal", "waiting_for_customer"): {W},
    ("planned_internal", "waiting_for_supplier"): {W},
    ("planned_internal", "resolved"): {W},
    # Planned external: paused until the wish date; then work resumes (automatically too).
    ("planned_external", "planned_internal"): {W, Y},
    ("planned_external", "waiting_for_customer"): {W},
    ("planned_external", "waiting_for_supplier"): {W},
    ("planned_external", "resolved"): {W},
    # Waiting for customer: the customer answers (or the agent records a phone answer);
    # repeated silence closes the ticket automatically.
    ("waiting_for_customer", "response_received"): {C, W},
    ("waiting_for_customer", "planned_internal"): {W},
    ("waiting_for_customer", "waiting_for_supplier"): {W},
    ("waiting_for_customer", "resolved"): {W},
    ("waiting_for_customer", "closed"): {Y},
    # Response received: the provider follows up.
    ("response_received", "planned_internal"): {W},
    ("response_received", "planned_external"): {W},
    ("response_received", "waiting_for_customer"): {W},
    ("response_received", "waiting_for_supplier"): {W},
    ("response_received", "resolved"): {W},
    # Waiting for supplier: the clock keeps running; the provider moves on when the third
    # party answers.
    ("waiting_for_supplier", "planned_internal"): {W},
    ("waiting_for_supplier", "planned_external"): {W},
    ("waiting_for_supplier", "waiting_for_customer"): {W},
    ("waiting_for_supplier", "resolved"): {W},
    # Resolved: the customer confirms (or it closes automatically), the customer says it is not
    # resolved, or the provider reopens it.
    ("resolved", "closed"): {C, Y},
    ("resolved", "response_received"): {C},
    ("resolved", "planned_internal"): {W},
    # Withdrawn by its reporter (only the reporter: WITHDRAWN_BY) before work started.
    ("new", "closed"): {C},
    # A cancelled change request closes its ticket (the system, for the agent who cancels).
    ("planned_internal", "closed"): {Y},
    ("planned_external", "closed"): {Y},
    ("response_received", "closed"): {Y},
    ("waiting_for_supplier", "closed"): {Y},
    # Closed is final: nothing leaves it.
}
WITHDRAWN_BY = "acme.user"  # the reporter of the tickets below

# Which actor class each role is, written out by hand.
ROLES = {
    "acme.user": C,  # the reporter (customer user)
    "acme.contact": C,  # authorised contact of the same organisation
    "agent": W,
    "oncall": W,
    "admin": W,
    "csm": None,
    "opsmanager": None,
    "director": None,
    None: Y,  # the system
}

RESOLUTION = {
    "resolution_type": "definitive",
    "resolution_cause": "A failed power supply in the PBX.",
    "resolution_how": "Replaced the power supply.",
    "resolution_follow_up": "None.",
}


def test_expected_table_is_the_implemented_table():
    assert set(Status.values) == set(STATUSES)
    implemented = {(str(a), str(b)): set(actors) for (a, b), actors in workflow.TRANSITIONS.items()}
    assert implemented == EXPECTED


def test_role_classes_match_the_workflow(users):
    for role, expected in ROLES.items():
        actor = users[role] if role else None
        assert workflow.actor_class(actor) == expected, role


def put_in_status(ticket, status):
    """Force a ticket into `status` with the extras that status carries."""
    now = timezone.now()
    extra = {}
    if status == Status.PLANNED_EXTERNAL:
        extra["wish_date"] = now + timedelta(days=3)
    if status in (Status.RESOLVED, Status.CLOSED):
        extra.update(RESOLUTION, resolved_at=now - timedelta(hours=1))
    if status == Status.CLOSED:
        extra["closed_at"] = now
    Ticket.objects.filter(pk=ticket.pk).update(status=status, **extra)
    return Ticket.objects.get(pk=ticket.pk)


def transition_audits(ticket):
    return AuditEntry.objects.filter(ticket=ticket, action="transition")


@pytest.mark.parametrize("role", list(ROLES), ids=lambda r: r or "system")
@pytest.mark.parametrize(
    ("from_status", "to_status"),
    list(itertools.product(STATUSES, STATUSES)),
    ids=lambda s: s,
)
def test_transition_matrix(users, make_ticket, role, from_status, to_status):
    ticket = put_in_status(make_ticket("acme.user"), from_status)
    actor = users[role] if role else None
    kwargs = {}
    if to_status == Status.RESOLVED:
        kwargs["resolution"] = dict(RESOLUTION)
    if to_status == Status.PLANNED_EXTERNAL:
        kwargs["wish_date"] = timezone.now() + timedelta(days=5)

    allowed_actors = EXPECTED.get((from_status, to_status))
    if (from_status, to_status) == ("new", "closed") and role != WITHDRAWN_BY:
        allowed_actors = set()
    if allowed_actors is None:
        with pytest.raises(IllegalTransition):
            services.transition(ticket, actor, to_status, **kwargs)
    elif ROLES[role] not in allowed_actors:
        with pytest.raises(PermissionDenied):
            services.transition(ticket, actor, to_status, **kwargs)
    else:
        result = services.transition(ticket, actor, to_status, **kwargs)
        assert result.status == to_status
        assert Ticket.objects.get(pk=ticket.pk).status == to_status
        (entry,) = transition_audits(ticket)
        assert entry.actor == actor
        assert entry.changes["status"] == [from_status, to_status]
        return
    # Refused: nothing changed, nothing audited.
    assert Ticket.objects.get(pk=ticket.pk).status == from_status
    assert not transition_audits(ticket).exists()


@pytest.mark.parametrize("role", list(ROLES), ids=lambda r: r or "system")
@pytest.mark.parametrize("from_status", STATUSES)
def test_allowed_targets_offers_exactly_the_allowed_moves(users, make_ticket, role, from_status):
    ticket = put_in_status(make_ticket("acme.user"), from_status)
    actor = users[role] if role else None
    expected = {
        to
        for (frm, to), actors in EXPECTED.items()
        if frm == from_status
        and ROLES[role] in actors
        and ((frm, to) != ("new", "closed") or role == WITHDRAWN_BY)
    }
    assert set(workflow.allowed_targets(ticket, actor)) == expected


# --- the rules around the moves -------------------------------------------------------------


def test_resolving_an_incident_needs_resolution_details(users, make_ticket):
    ticket = make_ticket("acme.user")
    with pytest.raises(ValidationError) as exc:
        services.transition(ticket, users["agent"], Status.RESOLVED)
    assert set(exc.value.message_dict) == {"resolution_type", "resolution_cause", "resolution_how"}
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.status == Status.NEW
    assert fresh.resolved_at is None

    partial = {"resolution_type": "temporary", "resolution_cause": "  "}
    with pytest.raises(ValidationError) as exc:
        services.transition(ticket, users["agent"], Status.RESOLVED, resolution=partial)
    assert set(exc.value.message_dict) == {"resolution_cause", "resolution_how"}


def test_resolving_an_incident_with_details_records_them(users, make_ticket):
    ticket = make_ticket("acme.user")
    before = timezone.now()
    services.transition(ticket, users["agent"], Status.RESOLVED, resolution=dict(RESOLUTION))
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.status == Status.RESOLVED
    assert fresh.resolved_at is not None and fresh.resolved_at >= before
    assert fresh.resolution_type == "definitive"
    assert fresh.resolution_cause == RESOLUTION["resolution_cause"]
    assert fresh.resolution_how == RESOLUTION["resolution_how"]
    assert fresh.responded_at is not None  # the first worker action is the response


def test_resolution_type_must_be_known(users, make_ticket):
    ticket = make_ticket("acme.user")
    with pytest.raises(ValidationError) as exc:
        services.transition(
            ticket,
            users["agent"],
            Status.RESOLVED,
            resolution={**RESOLUTION, "resolution_type": "x"},
        )
    assert "resolution_type" in exc.value.message_dict


def test_a_change_resolves_without_resolution_details(users, acme, make_ticket):
    from changes.models import ChangeRequest, Stage

    ticket = make_ticket("agent", kind=Kind.CHANGE, organization=acme, priority=5)
    # The changes app resolves a change ticket only once the change is completed (its own
    # tests); what this checks is that the ticket asks for no resolution details then.
    ChangeRequest.objects.filter(ticket=ticket).update(stage=Stage.COMPLETED)
    services.transition(ticket, users["agent"], Status.RESOLVED)
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.status == Status.RESOLVED
    assert fresh.resolved_at is not None


def test_planned_external_needs_a_future_wish_date(users, make_ticket):
    ticket = make_ticket("acme.user")
    with pytest.raises(ValidationError) as exc:
        services.transition(ticket, users["agent"], Status.PLANNED_EXTERNAL)
    assert "wish_date" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.transition(
            ticket,
            users["agent"],
            Status.PLANNED_EXTERNAL,
            wish_date=timezone.now() - timedelta(hours=1),
        )
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


def test_unknown_status_is_a_validation_error(users, make_ticket):
    ticket = make_ticket("acme.user")
    with pytest.raises(ValidationError) as exc:
        services.transition(ticket, users["agent"], "on_hold")
    assert "status" in exc.value.message_dict


def test_customer_reply_while_waiting_moves_to_response_received(users, make_ticket):
    ticket = put_in_status(make_ticket("acme.user"), Status.WAITING_FOR_CUSTOMER)
    services.add_update(ticket, users["acme.user"], "The PBX is in the basement.")
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.status == Status.RESPONSE_RECEIVED
    (entry,) = transition_audits(ticket)
    assert entry.actor == users["acme.user"]
    assert entry.changes["status"] == ["waiting_for_customer", "response_received"]


def test_customer_reply_in_other_statuses_keeps_the_status(users, make_ticket):
    ticket = put_in_status(make_ticket("acme.user"), Status.PLANNED_INTERNAL)
    services.add_update(ticket, users["acme.user"], "Any news?")
    assert Ticket.objects.get(pk=ticket.pk).status == Status.PLANNED_INTERNAL
    assert TicketUpdate.objects.filter(ticket=ticket).count() == 1


def test_agent_update_while_waiting_keeps_waiting(users, make_ticket):
    ticket = put_in_status(make_ticket("acme.user"), Status.WAITING_FOR_CUSTOMER)
    services.add_update(ticket, users["agent"], "We sent you a question.")
    assert Ticket.objects.get(pk=ticket.pk).status == Status.WAITING_FOR_CUSTOMER


def test_confirm_resolution_closes(users, make_ticket):
    ticket = put_in_status(make_ticket("acme.user"), Status.RESOLVED)
    services.confirm_resolution(ticket, users["acme.user"])
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.status == Status.CLOSED
    assert fresh.closed_at is not None
    assert fresh.resolved_at is not None  # closing keeps the resolution time


def test_reopening_clears_resolved_at(users, make_ticket):
    ticket = put_in_status(make_ticket("acme.user"), Status.RESOLVED)
    services.transition(ticket, users["acme.user"], Status.RESPONSE_RECEIVED)
    assert Ticket.objects.get(pk=ticket.pk).resolved_at is None


@pytest.mark.parametrize("outsider", ["globex.user", "globex.contact", "acme.user2"])
def test_customers_who_cannot_see_the_ticket_cannot_move_it(users, make_ticket, outsider):
    ticket = put_in_status(make_ticket("acme.user"), Status.RESOLVED)
    with pytest.raises(PermissionDenied):
        services.transition(ticket, users[outsider], Status.CLOSED)
    with pytest.raises(PermissionDenied):
        services.confirm_resolution(ticket, users[outsider])
    assert Ticket.objects.get(pk=ticket.pk).status == Status.RESOLVED
    assert not transition_audits(ticket).exists()


def test_a_note_with_a_transition_becomes_a_public_update(users, make_ticket):
    ticket = make_ticket("acme.user")
    services.transition(ticket, users["agent"], Status.WAITING_FOR_SUPPLIER, note="Vendor called")
    (update,) = TicketUpdate.objects.filter(ticket=ticket)
    assert update.body == "Vendor called"
    assert update.visibility == "public"


# --- the API --------------------------------------------------------------------------------


def transition_url(ticket):
    return f"/api/v1/tickets/{ticket.pk}/transition/"


def test_api_transition_moves_the_ticket(api, users, make_ticket):
    ticket = make_ticket("acme.user")
    response = api(users["agent"]).post(
        transition_url(ticket), {"status": "resolved", **RESOLUTION}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "resolved"
    assert response.json()["resolved_at"] is not None
    assert Ticket.objects.get(pk=ticket.pk).status == Status.RESOLVED


def test_api_resolution_details_missing_is_400_naming_the_fields(api, users, make_ticket):
    ticket = make_ticket("acme.user")
    response = api(users["agent"]).post(
        transition_url(ticket), {"status": "resolved"}, format="json"
    )
    assert response.status_code == 400
    assert {"resolution_type", "resolution_cause", "resolution_how"} <= set(response.json())


def test_api_illegal_transition_is_409(api, users, make_ticket):
    ticket = make_ticket("acme.user")
    response = api(users["agent"]).post(
        transition_url(ticket), {"status": "response_received"}, format="json"
    )
    assert response.status_code == 409
    assert "detail" in response.json()
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


def test_api_forbidden_role_is_403(api, users, make_ticket):
    ticket = make_ticket("acme.user")
    for role in ("acme.user", "csm"):
        response = api(users[role]).post(
            transition_url(ticket), {"status": "planned_internal"}, format="json"
        )
        assert response.status_code == 403, role
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


def test_api_unknown_status_is_400(api, users, make_ticket):
    ticket = make_ticket("acme.user")
    response = api(users["agent"]).post(
        transition_url(ticket), {"status": "on_hold"}, format="json"
    )
    assert response.status_code == 400
    assert "status" in response.json()


def test_api_other_tenants_ticket_is_404(api, users, make_ticket):
    ticket = put_in_status(make_ticket("acme.user"), Status.RESOLVED)
    response = api(users["globex.contact"]).post(
        transition_url(ticket), {"status": "closed"}, format="json"
    )
    assert response.status_code == 404
    assert ticket.number not in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == Status.RESOLVED
