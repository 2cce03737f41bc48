"""pim.serializers.ModelSerializer: the fields DRF derives from a model are built once per
class, and each serializer works on its own copy, so what one request changes (a customer's
read-only fields, querysets scoped to an organisation) never reaches the next."""

import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from tickets.api import TicketSerializer

pytestmark = pytest.mark.django_db


def fields_for(user):
    request = APIRequestFactory().post("/api/v1/tickets/")
    request.user = user
    return TicketSerializer(data={}, context={"request": request}).fields


def test_model_fields_are_built_once_per_class(users, monkeypatch):
    fields_for(users["agent"])  # built (or already built by an earlier test)
    built = []
    original = serializers.ModelSerializer.build_field
    monkeypatch.setattr(
        serializers.ModelSerializer,
        "build_field",
        lambda self, *args: built.append(args[0]) or original(self, *args),
    )
    fields = fields_for(users["acme.user"])
    assert built == []
    assert {"title", "description", "kind", "number", "reported_at"} <= set(fields)


def test_one_request_s_changes_do_not_reach_the_next(users, acme, globex):
    customer = fields_for(users["acme.user"])
    assert customer["assignee"].read_only and customer["channel"].read_only
    assert list(customer["organization"].get_queryset()) == [acme]

    agent = fields_for(users["agent"])
    assert not agent["assignee"].read_only and not agent["channel"].read_only
    assert set(agent["organization"].get_queryset()) == {acme, globex}
    # each serializer binds its own field objects
    assert customer["title"] is not agent["title"]
    assert customer["title"].parent is not agent["title"].parent

    again = fields_for(users["globex.user"])
    assert again["assignee"].read_only
    assert list(again["organization"].get_queryset()) == [globex]
    assert {s.organization for s in again["service"].get_queryset()} == {globex}
    assert {s.organization for s in agent["service"].get_queryset()} == {acme, globex}


def test_a_field_holding_bound_fields_is_copied_whole(users):
    """A list's child is bound to its list: each serializer gets its own pair, so validating
    one request's events never reads another serializer's context."""
    from escalation.api import WebhookEndpointSerializer

    first = WebhookEndpointSerializer().fields["event_types"]
    second = WebhookEndpointSerializer().fields["event_types"]
    assert first is not second and first.child is not second.child
    assert first.child.parent is first and second.child.parent is second


def test_the_ticket_serializer_declares_the_model_validators_it_would_find():
    """TicketSerializer.Meta.validators = [] stands for what DRF derives from the model: no
    unique_together and no unique constraint. A ticket model with one needs its validator."""
    from tickets.models import Ticket

    assert TicketSerializer.Meta.validators == []
    assert not Ticket._meta.unique_together
    assert not Ticket._meta.total_unique_constraints
    assert not [
        f
        for f in Ticket._meta.fields
        if f.unique_for_date or f.unique_for_month or f.unique_for_year
    ]
