"""Response headers (ASVS V14.4): Content-Security-Policy, Referrer-Policy, Permissions-Policy,
Cross-Origin-Opener-Policy, nosniff and frame denial on pages, API responses and Swagger UI."""

import re

import pytest

from pim.security.headers import build_permissions_policy

pytestmark = pytest.mark.django_db


def _directives(response):
    policy = response.headers["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }


def assert_security_headers(response):
    csp = _directives(response)
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"][0] == "'self'" and csp["style-src"][0] == "'self'"
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    header = response.headers["Content-Security-Policy"]
    for loose in ("unsafe-inline", "unsafe-eval", "*", "http:", "https:"):
        assert loose not in header.split(), header
    assert "unsafe" not in header
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_page_carries_the_security_headers(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert_security_headers(response)
    # The portal's pages need no nonce: none is generated, so none appears in the header.
    assert "nonce-" not in response.headers["Content-Security-Policy"]
    assert response["Content-Type"] == "text/html; charset=utf-8"


def test_pages_have_no_inline_script_or_style(client, users, make_ticket):
    ticket = make_ticket()
    client.force_login(users["acme.contact"])
    for url in (
        "/tickets/",
        "/tickets/new/",
        f"/tickets/{ticket.number}/",
        "/maintenance/",
        "/maintenance/month/",
        "/maintenance/subscriptions/",
        "/account/tokens/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert "<style" not in html and " style=" not in html, url
        assert re.search(r"\son[a-z]+=", html) is None, url  # no inline event handlers


def test_api_response_carries_the_security_headers(api, users):
    response = api(users["agent"]).get("/api/v1/tickets/")
    assert response.status_code == 200
    assert_security_headers(response)
    assert response["Content-Type"] == "application/json"
    anonymous = api().get("/api/v1/tickets/")
    assert anonymous.status_code in (401, 403)
    assert_security_headers(anonymous)


def test_swagger_ui_page_has_no_inline_script_and_its_script_is_a_file(api, users):
    client = api(users["agent"])
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert_security_headers(page)  # no "unsafe-none" opener policy of its own either
    html = page.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1)
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_admin_nonce_matches_the_header(client, users):
    from pim.models import User

    User.objects.filter(pk=users["admin"].pk).update(is_staff=True, is_superuser=True)
    client.force_login(users["admin"])
    response = client.get("/admin/")
    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    assert f'nonce="{nonce}"' in response.content.decode()
    again = client.get("/admin/")
    assert nonce not in again.headers["Content-Security-Policy"]  # a fresh nonce per response


def test_permissions_policy_rendering():
    assert build_permissions_policy({"camera": [], "fullscreen": ["self"]}) == (
        "camera=(), fullscreen=(self)"
    )
    assert build_permissions_policy({}) == ""
