"""Accessibility basics every page shares (WCAG 2.2 AA): a skip link to the main content that
appears when focused, text for screen readers that stays out of sight, a visible focus ring in
the header, and badge colours with a contrast of at least 4.5:1."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

CSS = (Path(settings.BASE_DIR) / "static/css/pim.css").read_text(encoding="utf-8")


def _luminance(hex_colour):
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a, b):
    la, lb = sorted((_luminance(_long(a)), _luminance(_long(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _long(colour):
    return "#" + "".join(c * 2 for c in colour[1:]) if len(colour) == 4 else colour


def test_contrast_formula_known_values():
    assert contrast("#fff", "#000") == pytest.approx(21)
    assert contrast("#ffffff", "#ea580c") == pytest.approx(3.56, abs=0.01)  # the old P2 badge


def test_every_badge_has_at_least_4_5_to_1():
    rules = re.findall(
        r"(\.badge[^{]*)\{\s*background:\s*(#[0-9a-fA-F]{3,6});\s*color:\s*(#[0-9a-fA-F]{3,6})",
        CSS,
    )
    assert len(rules) >= 12  # statuses, priorities, internal
    low = {
        sel.strip(): round(contrast(bg, fg), 2) for sel, bg, fg in rules if contrast(bg, fg) < 4.5
    }
    assert low == {}


def test_screen_reader_text_and_focus_rules_exist():
    assert re.search(r"\.visually-hidden[^{]*\{[^}]*clip: rect\(0 0 0 0\)", CSS)
    assert re.search(r"\.skip-link:focus \{[^}]*position: absolute", CSS)
    assert re.search(r"\.pim-header a:focus-visible[^{]*\{[^}]*outline: 3px solid", CSS)


@pytest.mark.parametrize(
    ("username", "route"), [(None, "login"), ("acme.user", "ticket-list"), ("agent", "queue")]
)
def test_every_page_starts_with_a_skip_link_to_its_main_content(client, users, username, route):
    if username:
        client.force_login(users[username])
    html = client.get(reverse(route)).content.decode()
    body = html.split("<body>", 1)[1].lstrip()
    assert body.startswith('<a class="skip-link" href="#main">')
    assert re.search(r'<main id="main" tabindex="-1"', html)


def test_axe_core_is_for_the_tests_only():
    """axe-core is vendored for the browser tests, which inject it; users never get it: no
    template links it, and the static files finders neither find nor collect it."""
    from django.apps import apps
    from django.contrib.staticfiles import finders

    vendored = list((Path(settings.BASE_DIR) / "static/vendor").glob("axe-core-*/axe.min.js"))
    assert len(vendored) == 1
    path = vendored[0].relative_to(Path(settings.BASE_DIR) / "static").as_posix()
    assert finders.find(path) is None
    assert finders.find("vendor/pico-2.1.1/pico.min.css")  # the others still are
    collected = {
        p
        for f in finders.get_finders()
        for p, _ in f.list(apps.get_app_config("staticfiles").ignore_patterns)
    }
    assert "vendor/pico-2.1.1/pico.min.css" in collected
    assert not [p for p in collected if "axe" in p]
    templates = Path(settings.BASE_DIR) / "templates"
    assert not [t for t in templates.rglob("*.html") if "axe" in t.read_text(encoding="utf-8")]


def test_header_menu_button_folds_the_navigation_on_a_phone(client, users):
    """The header's links sit in one #pim-menu that a menu button controls (pim.js folds it
    below 768 px); without scripts the button stays hidden and the menu open."""
    client.force_login(users["agent"])
    html = client.get(reverse("queue")).content.decode()
    button = re.search(r"<button[^>]*class=\"pim-menu-button[^>]*>", html).group(0)
    assert 'aria-expanded="false"' in button and 'aria-controls="pim-menu"' in button
    assert " hidden" in button
    menu = html.split('id="pim-menu"', 1)[1]
    assert "/accounts/logout/" in menu and 'name="language"' in menu
    assert re.search(r"\.js \.pim-menu:not\(\.is-open\) \{ display: none; \}", CSS)
