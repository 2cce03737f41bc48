"""The iCalendar feed: parsed with the icalendar package, only the user's organisations' windows,
updates reflected (SEQUENCE, STATUS:CANCELLED), secret revocable token."""

from datetime import UTC

import pytest
from django.urls import reverse
from freezegun import freeze_time
from icalendar import Calendar

from maintenance import services
from maintenance.models import FeedToken, Status, hash_token

from .conftest import NOW, at

pytestmark = pytest.mark.django_db


def fetch(client, secret):
    with freeze_time(NOW):
        return client.get(reverse("maintenance-feed", args=[secret]))


def events(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    cal = Calendar.from_ical(response.content)
    assert str(cal["VERSION"]) == "2.0" and "PIM" in str(cal["PRODID"])
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


@pytest.fixture
def notices(make_notice, acme, globex):
    return {
        "acme": make_notice(organizations=[acme], title="Acme switch swap"),
        "globex": make_notice(organizations=[globex], title="Globex secret window"),
        "all": make_notice(
            all_organizations=True, title="Everybody's DNS", start=at(2026, 12, 9, 1)
        ),
    }


def test_feed_holds_only_the_users_organisations_windows(client, users, notices):
    secret = services.regenerate_feed_token(users["acme.contact"])
    found = events(fetch(client, secret))
    assert set(found) == {
        f"maintenance-{notices['acme'].pk}@pim",
        f"maintenance-{notices['all'].pk}@pim",
    }
    assert b"Globex" not in fetch(client, secret).content
    event = found[f"maintenance-{notices['acme'].pk}@pim"]
    assert event.decoded("DTSTART") == at(2026, 12, 8, 22, 0)
    assert event.decoded("DTSTART").tzinfo == UTC or event["DTSTART"].to_ical().endswith(b"Z")
    assert event["DTEND"].to_ical() == b"20261208T230000Z"
    assert "Acme switch swap" in str(event["SUMMARY"])
    assert int(event["SEQUENCE"]) == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert "DTSTAMP" in event and "DESCRIPTION" in event


def test_staff_feed_has_every_window(client, users, notices):
    secret = services.regenerate_feed_token(users["agent"])
    assert len(events(fetch(client, secret))) == 3


def test_updates_and_cancellation_are_reflected(client, users, notices):
    notice = notices["acme"]
    with freeze_time(NOW):
        services.update_notice(notice, users["agent"], title="Acme switch swap (rack 2)")
        services.post_status_update(notice, users["agent"], Status.CANCELLED, "Postponed")
    secret = services.regenerate_feed_token(users["acme.user"])
    event = events(fetch(client, secret))[f"maintenance-{notice.pk}@pim"]
    assert int(event["SEQUENCE"]) == 2
    assert str(event["STATUS"]) == "CANCELLED"
    assert "rack 2" in str(event["SUMMARY"])


def test_token_is_stored_hashed_regenerated_and_revoked(client, users, notices):
    user = users["acme.contact"]
    first = services.regenerate_feed_token(user)
    token = FeedToken.objects.get(user=user)
    assert token.token_hash == hash_token(first) and first not in token.token_hash
    second = services.regenerate_feed_token(user)
    assert fetch(client, first).status_code == 404  # the old URL stops working
    assert fetch(client, second).status_code == 200
    assert services.revoke_feed_token(user)
    assert fetch(client, second).status_code == 404
    assert fetch(client, "not-a-token").status_code == 404


def test_inactive_users_feed_answers_404(client, users, notices):
    secret = services.regenerate_feed_token(users["acme.user"])
    users["acme.user"].is_active = False
    users["acme.user"].save()
    assert fetch(client, secret).status_code == 404


def test_feed_settings_page_shows_the_url_once(client, users):
    client.force_login(users["acme.contact"])
    url = reverse("maintenance-feed-settings")
    assert "no feed URL yet" in client.get(url).content.decode()
    page = client.post(url, {"action": "regenerate"}).content.decode()
    assert "/maintenance/feed/" in page and ".ics" in page
    token = FeedToken.objects.get(user=users["acme.contact"])
    later = client.get(url).content.decode()
    assert ".ics" not in later  # shown once: only its hash is kept
    assert "You have a feed URL" in later
    assert 'data-confirm="Revoke the feed URL?' in later  # pim.js asks before revoking
    assert client.post(url, {"action": "revoke"}).status_code == 302
    assert not FeedToken.objects.filter(pk=token.pk).exists()
