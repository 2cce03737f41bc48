"""A change ticket speaks in change words (issue 16): its page, its priority and its e-mails
never use an incident's outage or restore wording."""

import re

import pytest
from django.test import Client
from freezegun import freeze_time

from changes import services as change_services
from escalation.delivery import render_email
from escalation.models import Notification
from tickets import services as ticket_services

from .conftest import at

NOW = at(2026, 11, 25, 10, 30)
INCIDENT_WORDS = {
    "nl": ["ligt eruit", "storing", "probleem opgelost", "Definitieve oplossing", "herstel"],
    "en": [" down", "outage", "problem solved", "Definitive fix", "restore"],
}


def text_of(response):
    html = re.sub(
        r"<script.*?</script>|<style.*?</style>", " ", response.content.decode(), flags=re.S
    )
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def completed(users, file_change):
    """A medium change of acme.user (P2, lowered to P3), approved, carried out, completed."""

    def _completed(language):
        for user in users.values():
            user.language = language
            user.save()
        ticket = file_change("acme.user", priority=2)
        agent = users["agent"]
        window = {"planned_start": at(2026, 11, 26, 8, 0), "planned_end": at(2026, 11, 26, 9, 0)}
        with freeze_time(NOW):
            change_services.act(ticket, agent, "classify", {"type": "medium", "reason": "r"})
            ticket_services.change_priority(ticket, agent, 3, "not urgent")
            change_services.act(ticket, users["acme.contact"], "approve", {})
            change_services.act(ticket, agent, "plan", window)
            change_services.act(ticket, agent, "start", {})
            change_services.act(ticket, agent, "complete", {"note": "done"})
        ticket.refresh_from_db()
        return ticket

    return _completed


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_change_page_and_mails_use_change_words(users, completed, language):
    ticket = completed(language)
    for who in ("agent", "acme.user"):
        client = Client()
        client.force_login(users[who])
        with freeze_time(NOW):
            page = text_of(client.get(ticket.get_absolute_url()))
        for word in INCIDENT_WORDS[language]:
            assert word.lower() not in page.lower(), (who, word)
        assert {"nl": "binnen 3 werkdagen in behandeling", "en": "picked up within 3 working days"}[
            language
        ] in page
    confirm = {"nl": "Is de wijziging uitgevoerd zoals afgesproken?", "en": "Is the change done"}
    assert confirm[language] in page  # the requester confirms the change, not a fix
    mails = [
        render_email(n)
        for n in Notification.objects.filter(
            ticket=ticket, channel="email", recipient__username="acme.user"
        )
    ]
    assert mails
    for mail in mails:
        for word in INCIDENT_WORDS[language]:
            assert word.lower() not in (mail.subject + mail.body).lower(), (mail.subject, word)
    resolved = next(m for m in mails if "#resolution" in m.body)
    assert {"nl": "uitgevoerd", "en": "completed"}[language] in resolved.subject


def test_a_change_offers_its_own_priorities_and_no_incident_resolve_form(users, file_change):
    ticket = file_change("acme.user")
    client = Client()
    client.force_login(users["agent"])
    with freeze_time(NOW):
        page = client.get(ticket.get_absolute_url())
    form = page.context["priority_form"]
    assert [value for value, _label in form.fields["priority"].choices] == [1, 2, 3, 4, 5]
    assert "P5 – picked up within 5 working days" in str(form.fields["priority"].choices)
    assert page.context["resolve_form"] is None  # completing is the change's own step
