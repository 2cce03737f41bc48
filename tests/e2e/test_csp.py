"""The Content-Security-Policy in a real browser: Swagger UI and the Django admin work under it,
and the watch in conftest.py really sees a violation (so a clean run means something).

The portal's own pages are checked by every other browser test (the `page` fixture fails a test
that saw a violation).
"""

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from pim.models import Role
from tests.conftest import make_user
from tests.e2e.conftest import authenticator_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def login_staff(page, user):
    """Password, then a real TOTP code (provider staff sign in with two factors)."""
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto("/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "demo")
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(re.compile(r"/account/two-factor/verify/"))
    page.fill("input[name=code]", authenticator_code(device.bin_key))
    page.click("form:has(input[name=code]) button[type=submit]")
    page.wait_for_url(re.compile(r"/(tickets|queue)/"))


def test_swagger_ui_renders_every_operation_under_the_policy(page, shot):
    login_staff(page, make_user("agent", Role.AGENT))
    response = page.goto("/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # Swagger UI (script from a URL, style from a file) fetched the schema and drew it.
    page.wait_for_selector(".opblock-tag-section", timeout=30_000)
    assert page.locator(".opblock").count() > 20
    page.locator(".opblock-summary-path", has_text="/api/v1/tickets/").first.wait_for()
    shot(page, "csp-01-api-docs")


def test_django_admin_works_under_the_policy(page, shot, acme):
    from pim.models import User

    admin = make_user("admin", Role.ADMIN)
    User.objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
    login_staff(page, admin)
    page.goto("/admin/")
    page.wait_for_selector("#content-main")
    page.goto(f"/admin/pim/organization/{acme.pk}/change/")
    page.wait_for_selector("input[name=name]")
    page.goto("/admin/pim/organization/")
    page.wait_for_selector("#result_list")
    shot(page, "csp-02-admin")


def test_the_watch_sees_a_violation(page, csp_violations):
    page.goto("/accounts/login/")
    page.evaluate(
        """() => {
          const img = document.createElement("img");
          img.src = "https://example.invalid/tracker.png";
          document.body.append(img);
          const script = document.createElement("script");
          script.textContent = "window.inlineRan = true;";
          document.body.append(script);
        }"""
    )
    deadline = 50  # the reports reach the test asynchronously
    while deadline and len({v.get("directive") for v in csp_violations} - {None}) < 2:
        page.wait_for_timeout(100)
        deadline -= 1
    directives = {v.get("directive") for v in csp_violations}
    assert {"img-src", "script-src-elem"} <= directives, csp_violations
    assert page.evaluate("() => window.inlineRan === undefined")
    csp_violations.clear()  # expected here; every other test must end with none
