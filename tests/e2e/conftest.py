"""Headless Debian Chromium driven by Playwright (no browser download).

On a newcomer's machine without Chromium the browser tests skip with a one-line reason; under
CI=true a missing browser fails the run instead.

Every page a browser test visits is watched for Content-Security-Policy violations (the
`securitypolicyviolation` event and Chromium's console report); a test that saw one fails.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.core.servers.basehttp import WSGIServer
from django.db import connection
from django.test.testcases import LiveServerThread

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


# On SQLite the test database lives in memory and its one connection is shared by the live
# server's threads: two requests at once (a page's polls firing while another loads) can fail
# inside sqlite3 with "bad parameter or other API misuse". There the live server answers one
# request at a time (Django then closes each connection, so no browser holds it).
class OneRequestAtATime(WSGIServer):
    """The live server's WSGIServer without threads; its thread already uses the shared
    connections it is given."""

    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)


if connection.vendor == "sqlite":
    LiveServerThread.server_class = OneRequestAtATime


def _chromium_path():
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium_path():
    path = _chromium_path()
    if path is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("browser test: no Chromium here (apt-get install chromium to run it)")
    return path


# Runs in every document before its own scripts: reports each CSP violation to the test.
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.pimCspViolation({
    page: document.location.href, directive: e.violatedDirective, blocked: e.blockedURI,
    source: e.sourceFile, line: e.lineNumber, sample: e.sample,
  });
});
"""


def _is_csp_console_message(message):
    text = message.text
    return message.type in ("error", "warning") and (
        "Content Security Policy" in text or "Content-Security-Policy" in text
    )


@pytest.fixture
def csp_violations():
    """What the browser reported against the Content-Security-Policy during the test."""
    return []


@pytest.fixture
def page(chromium_path, live_server, monkeypatch, csp_violations):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test still uses the ORM.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(base_url=live_server.url, locale="nl-NL")
        context.set_default_timeout(15_000)
        context.expose_function("pimCspViolation", lambda v: csp_violations.append(v))
        context.add_init_script(CSP_WATCH)
        page = context.new_page()
        page.on(
            "console",
            lambda m: (
                csp_violations.append({"console": m.text, "page": page.url})
                if _is_csp_console_message(m)
                else None
            ),
        )
        yield page
        context.close()
        browser.close()
    assert csp_violations == [], "Content-Security-Policy violations in the browser"


@pytest.fixture
def shot():
    """Keep a screenshot of the current page as a test artifact."""

    def _shot(page, name):
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return _shot


def authenticator_code(key):
    """The code an authenticator app shows now for a secret (bytes), as RFC 6238 computes it."""
    from django_otp.oath import totp

    return f"{totp(key):06d}"
