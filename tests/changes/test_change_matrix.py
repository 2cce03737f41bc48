"""Every action of the change path per role, allowed and refused (issue 16 acceptance): the
customer user, the authorised contact, the agent and a provider manager, each action in a stage
that allows it (the allowed role succeeds, every other role gets 403 and nothing changes) and in
a stage that does not (403 for the refused roles before 409 for the allowed one)."""

import pytest
from freezegun import freeze_time

from changes.models import ChangeApproval, ChangeRequest
from tickets.models import AuditEntry

from .conftest import at

NOW = at(2026, 11, 25, 11, 0)
ROLES = ("acme.user", "acme.contact", "agent", "csm")
PLAN = {"planned_start": "2026-12-02T08:00", "planned_end": "2026-12-02T12:00"}

# action -> (the role allowed, its data, the steps that bring a change to a stage allowing it)
MATRIX = {
    "classify": ("agent", {"type": "medium", "reason": "r"}, []),
    "verify": ("agent", {"note": "n"}, ["exceptional"]),
    "quote_notice": ("agent", {"free": True}, ["exceptional"]),
    "quote": ("agent", {"free": False, "amount": "10"}, ["exceptional"]),
    "approve": ("acme.contact", {}, ["exceptional", "quote"]),
    "reject": ("acme.contact", {"note": "no"}, ["exceptional", "quote"]),
    "provider_approve": ("csm", {"note": "ok"}, ["large", "quote"]),
    "provider_reject": ("csm", {"note": "no capacity"}, ["large", "quote"]),
    "plan": ("agent", PLAN, ["medium", "approve"]),
    "start": ("agent", {}, ["medium", "approve", "plan"]),
    "progress": ("agent", {"note": "n"}, ["medium", "approve", "plan", "start"]),
    "complete": ("agent", {"note": "n"}, ["medium", "approve", "plan", "start"]),
    "cancel": ("agent", {"reason": "r"}, ["medium"]),
}
SETUP = {
    "exceptional": ("agent", {"action": "classify", "type": "exceptional", "reason": "r"}),
    "large": ("agent", {"action": "classify", "type": "large", "reason": "r"}),
    "medium": ("agent", {"action": "classify", "type": "medium", "reason": "r"}),
    "quote": ("agent", {"action": "quote", "free": False, "amount": "10"}),
    "approve": ("acme.contact", {"action": "approve"}),
    "plan": ("agent", {"action": "plan", **PLAN}),
    "start": ("agent", {"action": "start"}),
}
CASES = [(action, role) for action in MATRIX for role in ROLES]


def post(api, users, ticket, who, data):
    with freeze_time(NOW):
        return api(users[who]).post(f"/api/v1/tickets/{ticket.pk}/change/", data, format="json")


def prepared(file_change, api, users, steps):
    ticket = file_change("acme.user")
    for name in steps:
        who, data = SETUP[name]
        response = post(api, users, ticket, who, data)
        assert response.status_code == 200, (name, response.content)
    return ticket


def state(ticket):
    change = ChangeRequest.objects.get(ticket=ticket)
    return (
        change.stage,
        change.documents.count(),
        ChangeApproval.objects.filter(change=change).count(),
        AuditEntry.objects.filter(ticket=ticket).count(),
    )


@pytest.mark.parametrize(("action", "role"), CASES)
def test_each_action_is_taken_by_its_role_only(file_change, users, api, action, role):
    allowed, data, steps = MATRIX[action]
    ticket = prepared(file_change, api, users, steps)
    before = state(ticket)
    response = post(api, users, ticket, role, {"action": action, **data})
    if role == allowed:
        assert response.status_code == 200, response.content
        assert state(ticket) != before
    else:
        assert response.status_code == 403, response.content
        assert state(ticket) == before


@pytest.mark.parametrize(("action", "role"), CASES)
def test_the_role_is_refused_before_the_stage(file_change, users, api, action, role):
    """A cancelled change allows nothing: the wrong role still hears 403, the right one 409."""
    allowed, data, _steps = MATRIX[action]
    ticket = prepared(file_change, api, users, ["medium"])
    assert post(api, users, ticket, "agent", {"action": "cancel", "reason": "r"}).status_code == 200
    before = state(ticket)
    response = post(api, users, ticket, role, {"action": action, **data})
    if role == allowed:
        assert response.status_code == 409, response.content
        assert response.json()["detail"]
    else:
        assert response.status_code == 403, response.content
    assert state(ticket) == before
