"""The intake's reasons are read in the reader's language (issue 12 item 6): stored once per
language when the system decides, shown in the agent's language on the triage page, and
masked with the rest of the message when its personal data is removed."""

import pytest
from django.test import Client
from django.utils import translation

from intake import services, triage
from intake.models import InboundStatus

pytestmark = pytest.mark.django_db


def test_held_reason_in_both_languages_and_on_the_triage_page(users, eml):
    with translation.override("nl"):  # a worker runs in the default language
        message = services.ingest(eml("unknown_sender.eml"))
    assert message.status == InboundStatus.HELD
    assert message.reason_i18n["en"].startswith("Unknown sender ")
    assert message.reason_i18n["nl"].startswith("Onbekende afzender ")
    agent = users["agent"]
    client = Client()
    client.force_login(agent)
    for language, shown, other in [("en", "Unknown sender", "Onbekende afzender"),
                                   ("nl", "Onbekende afzender", "Unknown sender")]:  # fmt: skip
        agent.language = language
        agent.save(update_fields=["language"])
        page = client.get("/intake/").text
        assert shown in page and other not in page


def test_discard_reason_keeps_the_agents_words_in_both_languages(users, eml):
    message = services.ingest(eml("unknown_sender.eml"))
    message = triage.discard_held(message.pk, users["agent"], "Spam van een leverancier")
    assert message.reason_i18n["en"] == "Discarded by agent: Spam van een leverancier"
    assert message.reason_i18n["nl"].endswith(": Spam van een leverancier")
    assert message.reason_i18n["nl"] != message.reason_i18n["en"]


def test_anonymising_masks_the_reason_in_every_language(users, eml):
    from privacy import services as privacy

    message = services.ingest(eml("unknown_sender.eml"))
    address = message.from_address
    assert address in message.reason_i18n["en"]
    privacy._anonymise_inbound(message)
    message.refresh_from_db()
    assert address not in message.reason and all(
        address not in text for text in message.reason_i18n.values()
    )
