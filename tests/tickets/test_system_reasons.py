"""System reasons are stored as codes and read in the viewer's language (issue 12 item 6)."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.urls import reverse
from django.utils import translation

from tickets.models import PriorityChange, SystemReason

pytestmark = pytest.mark.django_db


def test_registration_reason_is_a_code_read_in_each_language(client, users, make_ticket):
    with translation.override("nl"):  # the registering request's language must not matter
        ticket = make_ticket("acme.user")
    change = PriorityChange.objects.get(ticket=ticket)
    assert (change.reason_code, change.reason) == (SystemReason.REGISTRATION, "")
    client.force_login(users["acme.user"])
    for language, shown, other in [
        ("en", "Priority at registration", "Prioriteit bij registratie"),
        ("nl", "Prioriteit bij registratie", "Priority at registration"),
    ]:
        users["acme.user"].language = language
        users["acme.user"].save(update_fields=["language"])
        page = client.get(reverse("ticket-detail", args=[ticket.number])).text
        assert shown in page and other not in page


def test_an_agents_reason_stays_their_words(users, make_ticket):
    from tickets import services

    ticket = make_ticket("acme.user")
    services.change_priority(ticket, users["agent"], 2, "Hele vestiging kan niet bellen")
    change = PriorityChange.objects.filter(ticket=ticket).last()
    assert change.reason_text == "Hele vestiging kan niet bellen" and not change.reason_code


def test_data_migration_turns_stored_texts_into_codes(users, make_ticket):
    ticket = make_ticket("acme.user")
    PriorityChange.objects.filter(ticket=ticket).update(
        reason="Prioriteit bij registratie", reason_code=""
    )
    migration = importlib.import_module("tickets.migrations.0004_system_reason_codes")
    migration.reasons_to_codes(django_apps, None)
    change = PriorityChange.objects.get(ticket=ticket)
    assert (change.reason_code, change.reason) == ("registration", "")
