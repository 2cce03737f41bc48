"""Two-factor login (ASVS L2 V2.7/V2.8): TOTP plus recovery codes, required for provider staff,
optional for customers, API tokens unaffected. Every sign-in here goes through the forms."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time
from rest_framework.test import APIClient

from pim.security import twofactor

pytestmark = pytest.mark.django_db

VERIFY = "/account/two-factor/verify/"
SETUP = "/account/two-factor/setup/"


def code(device):
    """What the user's authenticator app shows now (RFC 6238, django-otp's implementation)."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def password_login(username, next_url="/"):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        reverse("login"), {"username": username, "password": "demo", "next": next_url}
    )
    assert response.status_code == 302, response.content
    return client


def enrolled(user):
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def test_staff_without_a_device_are_sent_to_the_set_up_before_anything_else(users):
    client = password_login("opsmanager", "/queue/")
    for url in ("/queue/", "/", "/account/tokens/", "/escalations/", "/admin/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(SETUP), url
    page = client.get(client.get("/queue/")["Location"])
    assert page.status_code == 200
    assert re.search(r"<svg[^>]*class=\"segno\"", page.text)  # the QR code, inline SVG
    device = TOTPDevice.objects.get(user=users["opsmanager"], confirmed=False)
    assert twofactor.grouped(twofactor.secret(device)) in page.text
    assert client.post(SETUP, {"code": "000000", "next": "/queue/"}).status_code == 400

    with freeze_time(timezone.now() + timedelta(seconds=5)):  # past the failed try's delay
        shown = client.post(SETUP, {"code": code(device), "next": "/queue/"})
    assert shown.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", shown.text)
    assert len(codes) == twofactor.RECOVERY_CODE_COUNT
    assert client.get("/queue/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    stored = set(StaticToken.objects.values_list("token", flat=True))
    assert not stored & set(codes)  # only digests are kept
    assert client.get("/account/two-factor/").text.count("recovery codes left") == 1


def test_staff_with_a_device_enter_the_code_after_the_password(users):
    device = enrolled(users["agent"])
    client = password_login("agent", "/queue/")
    first = client.get("/queue/")
    assert first.status_code == 302 and first["Location"].startswith(VERIFY)
    assert client.get(first["Location"]).status_code == 200
    wrong = client.post(VERIFY, {"code": "123456", "next": "/queue/"})
    assert wrong.status_code == 400 and "That code is not right" in wrong.text
    assert client.get("/queue/").status_code == 302
    with freeze_time(timezone.now() + timedelta(seconds=5)):
        right = client.post(VERIFY, {"code": code(device), "next": "/queue/"})
    assert right.status_code == 302 and right["Location"] == "/queue/"
    assert client.get("/queue/").status_code == 200


def test_wrong_codes_meet_a_growing_delay(users):
    device = enrolled(users["agent"])
    client = password_login("agent")
    start = timezone.now()
    with freeze_time(start) as clock:
        assert client.post(VERIFY, {"code": "000000"}).status_code == 400
        held = client.post(VERIFY, {"code": code(device)})  # even the right one, right away
        assert held.status_code == 429 and int(held["Retry-After"]) >= 1
        clock.move_to(start + timedelta(seconds=2))
        assert client.post(VERIFY, {"code": "000000"}).status_code == 400
        clock.move_to(start + timedelta(seconds=3))
        held = client.post(VERIFY, {"code": code(device)})
        assert held.status_code == 429  # 2 failures: 2 seconds from the last one
        clock.move_to(start + timedelta(seconds=5))
        assert client.post(VERIFY, {"code": code(device)}).status_code == 302


def test_a_code_is_valid_for_its_time_step_only_and_only_once(users):
    device = enrolled(users["agent"])
    start = datetime(2026, 5, 4, 8, 0, 0, tzinfo=UTC)
    with freeze_time(start) as clock:
        old = code(device)
        clock.move_to(start + timedelta(seconds=90))  # three 30-second steps later
        client = password_login("agent")
        assert client.post(VERIFY, {"code": old}).status_code == 400
        clock.move_to(start + timedelta(seconds=95))  # past the wrong code's delay
        current = code(device)
        assert current != old
        assert client.post(VERIFY, {"code": current}).status_code == 302
        again = password_login("agent")
        assert again.post(VERIFY, {"code": current}).status_code == 400  # used up


def test_a_recovery_code_signs_in_once(users):
    enrolled(users["csm"])
    codes = twofactor.new_recovery_codes(users["csm"])
    client = password_login("csm")
    spaced = codes[0].replace("-", " ").upper()  # typed with spaces, in capitals
    assert client.post(VERIFY, {"code": spaced}).status_code == 302
    assert client.get("/escalations/").status_code == 200
    again = password_login("csm")
    with freeze_time(timezone.now() + timedelta(seconds=5)):
        assert again.post(VERIFY, {"code": codes[0]}).status_code == 400
    with freeze_time(timezone.now() + timedelta(seconds=10)):
        assert again.post(VERIFY, {"code": codes[1]}).status_code == 302
    assert twofactor.recovery_codes_left(users["csm"]) == twofactor.RECOVERY_CODE_COUNT - 2


def test_customers_choose_and_can_switch_off(users):
    client = password_login("acme.user")
    assert client.get(reverse("ticket-list")).status_code == 200  # optional: not asked
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=users["acme.user"])
    assert client.post(SETUP, {"code": code(device)}).status_code == 200
    assert twofactor.has_device(users["acme.user"])

    with freeze_time(timezone.now() + timedelta(seconds=31)):
        later = password_login("acme.user")
        assert later.get(reverse("ticket-list"))["Location"].startswith(VERIFY)
        assert later.post(VERIFY, {"code": code(device)}).status_code == 302
        assert later.get(reverse("ticket-list")).status_code == 200
        off = later.post("/account/two-factor/", {"action": "off"})
        assert off.status_code == 302
    assert not twofactor.has_device(users["acme.user"])
    assert password_login("acme.user").get(reverse("ticket-list")).status_code == 200


def test_staff_cannot_switch_it_off(users, client):
    client.force_login(users["agent"])
    assert client.post("/account/two-factor/", {"action": "off"}).status_code == 400
    assert twofactor.has_device(users["agent"])
    with pytest.raises(PermissionError):
        twofactor.switch_off(users["agent"])


def test_api_tokens_are_unaffected_and_a_half_signed_in_session_is_not_enough(users):
    enrolled(users["agent"])
    obtained = APIClient().post(
        "/api/v1/auth/token/", {"username": "agent", "password": "demo"}, format="json"
    )
    assert obtained.status_code == 200
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {obtained.json()['token']}")
    assert api.get("/api/v1/tickets/").status_code == 200

    half = password_login("agent")
    refused = half.get("/api/v1/tickets/")
    assert refused.status_code == 403 and "two-factor" in refused.json()["detail"]


def test_the_admin_logs_in_through_the_portal_login(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"


def test_verify_page_in_dutch(users):
    users["agent"].language = "nl"
    users["agent"].save()
    enrolled(users["agent"])
    page = password_login("agent").get(VERIFY)
    assert "Tweestapsverificatie" in page.text and "herstelcodes" in page.text


def test_demo_staff_sign_in_with_the_documented_secret(settings, db):
    settings.DEMO_MODE = True
    call_command("seed_demo", tickets=0, verbosity=0)
    device = TOTPDevice.objects.get(user__username="director")
    assert twofactor.secret(device) == twofactor.DEMO_TOTP_SECRET
    login_page = Client().get(reverse("login")).text
    assert f"oathtool --totp -b {twofactor.DEMO_TOTP_SECRET}" in login_page
    client = password_login("director")
    hint = client.get(VERIFY).text
    shown = re.search(r'id="demo-code">.*?<code>(\d{6})</code>', hint, re.S).group(1)
    assert shown == code(device)
    assert client.post(VERIFY, {"code": shown}).status_code == 302
    assert not TOTPDevice.objects.filter(user__username="acme.user").exists()


def test_no_demo_secret_outside_demo_mode(settings, db):
    settings.DEMO_MODE = False
    call_command("seed_demo", tickets=0, verbosity=0)
    assert not TOTPDevice.objects.exists()
    assert twofactor.DEMO_TOTP_SECRET not in Client().get(reverse("login")).text


def test_the_admin_never_shows_a_totp_secret(users, client):
    admin = users["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    device = enrolled(users["agent"])
    client.force_login(admin)
    page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200
    assert device.key not in page.text and twofactor.secret(device) not in page.text
    config = reverse("admin:otp_totp_totpdevice_config", args=[device.pk])
    assert client.get(config).status_code == 403
