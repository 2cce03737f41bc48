"""Every label in the viewer's language (issue 12 item 6): every page, as every role, rendered in
English shows no text of the Dutch catalogue that differs from its English, and rendered in
Dutch no English text that has a different Dutch translation.

The pages are the tenant sweep's routes (read from the resolver, so new pages are covered
without touching this file), filled with organisation B's objects so that B's own customers
and the provider's staff see full pages. The catalogue is locale/nl/LC_MESSAGES/django.po:
entries of two words or more whose translation differs from the msgid. Placeholders split an
entry into fragments; a fragment of two words or more must not appear in the other language's
page text (visible text plus title, aria-label, placeholder). User content (titles,
descriptions, updates, names the tests wrote) is removed from the text first.

The same sweep checks that no page offers Django's generic blank choice ("- Select an option -")
where the portal's own words belong ("— choose —", "— not specified —", "All …").
"""

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.db.models.fields import BLANK_CHOICE_LABEL
from django.test import Client
from django.utils import translation

from pim.models import Organization, User
from sla.models import SlaDocumentVersion
from tests.test_page_fuzzer import ROLES  # every role that opens pages, and nobody
from tests.test_tenant_sweep import body_of, build_url, sweep_routes
from tests.test_tenant_sweep import org_b as org_b  # a fixture
from tickets.models import Ticket, TicketUpdate

# Routes not rendered, with the reason (matched against the route's regex).
NOT_PAGES = {
    r"^\^?api/": "the API answers JSON for integrations; its messages are English by design",
    r"^\^?admin/": "the Django admin: Django's own catalogue, admins only",
    r"\.json": "JSON twins of pages",
    r"feed|\.ics": "iCalendar feeds",
}
# Placeholders that split an entry into fragments: %(name)s, %s, %d, {name}.
PLACEHOLDER = re.compile(r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[sdfir]|%[sdfir]|\{[^}]*\}")
WORD = re.compile(r"[^\W\d_]{2,}")


def fragments(text):
    """The parts of a catalogue string between its placeholders with two words or more."""
    for part in PLACEHOLDER.split(text.replace("\n", " ")):
        part = " ".join(part.split()).strip(" .,:;–—-()«»“”‘’\"'")
        if len(WORD.findall(part)) >= 2:
            yield part


def catalogue():
    """(Dutch fragments an English page must not show, English ones a Dutch page must not)."""
    po = polib.pofile(str(Path(settings.BASE_DIR) / "locale/nl/LC_MESSAGES/django.po"))
    dutch, english = set(), set()
    for entry in po:
        if entry.obsolete or entry.fuzzy:
            continue
        pairs = (
            [(entry.msgid, entry.msgstr_plural.get(0, "")),
             (entry.msgid_plural, entry.msgstr_plural.get(1, ""))]
            if entry.msgid_plural
            else [(entry.msgid, entry.msgstr)]
        )  # fmt: skip
        for msgid, msgstr in pairs:
            if not msgstr or len(WORD.findall(msgid)) < 2 or msgid.strip() == msgstr.strip():
                continue
            theirs, ours = set(fragments(msgstr)), set(fragments(msgid))
            dutch |= theirs - ours  # a fragment both languages share is no leak
            english |= ours - theirs
    return dutch, english


class TextParser(HTMLParser):
    """The text a reader sees: text nodes and the title, aria-label and placeholder attributes
    (not scripts, styles, or the language switcher, which names both languages)."""

    ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        self.parts.extend(v for k, v in attrs if k in self.ATTRIBUTES and v)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def visible_text(body, user_content):
    parser = TextParser()
    parser.feed(body)
    text = " ".join(" ".join(parser.parts).split())
    for content in user_content:
        text = text.replace(content, " ")
    return html.unescape(text)


def user_content():
    """What people wrote (not the catalogue's to translate), longest first."""
    values = set()
    for title, description in Ticket.objects.values_list("title", "description"):
        values |= {title, *description.splitlines()}
    values |= set(TicketUpdate.objects.values_list("body", flat=True))
    for description in SlaDocumentVersion.objects.values_list("description", flat=True):
        values |= set(description.splitlines())  # what the provider wrote about a version
    values |= set(Organization.objects.values_list("name", flat=True))
    values |= {u.get_full_name() for u in User.objects.all()}
    return sorted((" ".join(v.split()) for v in values if v and v.strip()), key=len, reverse=True)


def page_urls(objects):
    routes, _ = sweep_routes()
    urls = []
    for route in routes:
        if any(re.search(pattern, route.regex) for pattern in NOT_PAGES):
            continue
        url, _tenant = build_url(route, objects)
        urls.append(url)
    return urls


def found_in(text, phrases):
    return sorted(p for p in phrases if p in text)


@pytest.mark.parametrize("language", ["en", "nl"])
def test_no_page_speaks_the_other_language(users, org_b, language):
    _ticket, objects, _markers = org_b
    dutch, english = catalogue()
    forbidden = dutch if language == "en" else english
    assert len(forbidden) > 300  # the catalogue was read
    urls = page_urls(objects)
    content = user_content()
    with translation.override(language):
        generic_blank = str(BLANK_CHOICE_LABEL)
    problems, rendered = [], 0
    for username in ROLES:
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        if username is not None:
            user = users[username]
            user.language = language
            user.save(update_fields=["language"])
            client.force_login(user)
        for url in urls:
            response = client.get(url)
            body = body_of(response)
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            rendered += 1
            text = visible_text(body, content)
            leaked = found_in(text, forbidden) + ([generic_blank] if generic_blank in text else [])
            if leaked:
                problems.append(f"{username or 'anonymous'} {url}: {leaked[:5]}")
    assert rendered > 100  # every role reached its pages
    assert not problems, f"{len(problems)} pages speak the other language:\n" + "\n".join(problems)
