"""A new agent's first login: set up the authenticator app from the QR page, keep the recovery
codes, and later sign in with one of them (headless Chromium)."""

import base64
import re

import pytest

from pim.models import Role
from tests.conftest import make_user
from tests.e2e.conftest import authenticator_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def password(page, username):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("form:has(input[name=password]) button[type=submit]")


def test_agent_sets_up_two_factor_and_later_uses_a_recovery_code(page, shot):
    make_user("agent", Role.AGENT, language="nl")

    password(page, "agent")
    page.wait_for_url(re.compile(r"/account/two-factor/setup/"))
    assert page.locator("#totp-qr svg").is_visible()
    shot(page, "2fa-01-set-up")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.fill("input[name=code]", authenticator_code(base64.b32decode(secret)))
    page.click("form:has(input[name=code]) button[type=submit]")
    # all_inner_texts() does not wait for the next page: under load it read the setup page (0)
    page.locator("#recovery-codes code").first.wait_for()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    shot(page, "2fa-02-recovery-codes")
    page.get_by_role("button").filter(has_text=re.compile("bewaard|stored")).click()
    page.wait_for_url(re.compile(r"/queue/"))
    page.locator("form[action$='/logout/'] button").click()
    page.wait_for_url(re.compile(r"/accounts/"))

    password(page, "agent")
    page.wait_for_url(re.compile(r"/account/two-factor/verify/"))
    page.fill("input[name=code]", codes[0])
    page.click("form:has(input[name=code]) button[type=submit]")
    page.wait_for_url(re.compile(r"/queue/"))
    shot(page, "2fa-03-signed-in-with-a-recovery-code")
