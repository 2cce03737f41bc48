"""The input boundary (issue 13): every request the black-box probe answered with a 500 now gets
a clear 4xx, and the limits behind it (ids, control characters, dates, JSON depth, body size,
text length) hold for the API and the pages alike. Runs on SQLite and on PostgreSQL, where NUL
bytes and out-of-range dates used to reach the database."""

import json

import pytest
from django.forms import BaseForm
from django.test import Client
from django.urls import reverse

from escalation.models import Escalation
from pim import inputs
from pim.models import ApiToken
from tickets.models import Ticket, TicketUpdate

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "²"  # str.isdigit() says yes, int() says no


def login(users, name):
    client = Client()
    client.force_login(users[name])
    return client


def assert_json_error(response, status=400, field=None):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    if field is not None:
        assert field in body, body
        assert body[field], body
    else:
        assert body, body
    return body


def assert_page_error(response, text, status=400):
    """A refusal in the portal's layout (not a bare text page), with a clear message."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<nav" in page and "</html>" in page, "the portal layout is missing"
    assert text in page, page[-3000:]
    return page


def assert_form_error(response, field, text):
    """The form comes back in the portal's layout with the error on its field."""
    assert response.status_code in (200, 400), response.status_code
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<nav" in page
    values = {}
    for context in response.context:
        values.update(context.flatten())
    forms = [v for v in values.values() if isinstance(v, BaseForm) and v.is_bound]
    errors = [str(e) for f in forms for e in f.errors.get(field, [])]
    assert any(text in e.replace(".", "").replace(",", "") for e in errors), errors
    assert errors[0].split()[0] in page


# --- ids: an ASCII-digit check and the database's range ---------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1", 1),
        ("42", 42),
        (str(inputs.MAX_ID), inputs.MAX_ID),
        (7, 7),
        (SUPERSCRIPT_TWO, None),
        ("٣", None),  # an Arabic-Indic digit: int() would accept it
        ("0", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1.0", None),
        ("1e3", None),
        (str(inputs.MAX_ID + 1), None),
        ("9" * 5000, None),  # beyond int()'s digit limit: no ValueError either
        ("", None),
        (None, None),
        ("abc", None),
    ],
)
def test_parse_id(value, expected):
    from pim.filters import parse_id

    assert parse_id(value) == expected


@pytest.mark.parametrize("path", ["services", "locations"])
def test_directory_organization_filter_refuses_superscript_digits(users, path):
    response = login(users, "agent").get(f"/api/v1/{path}/?organization=%C2%B2")
    assert_json_error(response, field="organization")


def test_compliance_api_refuses_superscript_digits(users):
    response = login(users, "csm").get("/api/v1/sla/compliance/?organization=%C2%B2")
    assert_json_error(response, field="organization")


def test_compliance_page_refuses_superscript_digits(users):
    response = login(users, "csm").get("/sla/?organization=%C2%B2")
    assert_page_error(response, "Select a valid choice")


def test_compliance_page_refuses_an_impossible_month(users):
    response = login(users, "csm").get("/sla/?since=0001-01")
    assert_page_error(response, "1970")


def test_escalation_ticket_filter_refuses_superscript_digits(users):
    response = login(users, "agent").get("/api/v1/escalations/?ticket=%C2%B2")
    assert_json_error(response, field="ticket")


def test_token_revoke_refuses_superscript_digits(users):
    client = login(users, "acme.user")
    token = client.post(reverse("account-tokens"), {"name": "integration"})
    assert token.status_code == 302
    response = client.post(reverse("account-tokens"), {"revoke": SUPERSCRIPT_TWO})
    assert_page_error(response, "not a valid", status=400)
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 1


def test_notifications_read_refuses_superscript_digits(users):
    response = login(users, "acme.user").post(
        reverse("notifications-read"), {"notification": SUPERSCRIPT_TWO}
    )
    assert_page_error(response, "not a valid")


def test_escalation_acknowledge_refuses_a_non_number(users):
    response = login(users, "csm").post(reverse("escalation-acknowledge"), {"escalation": "abc"})
    assert_page_error(response, "not a valid")
    assert not Escalation.objects.exists()


# --- NUL and other control characters -----------------------------------------------------------


def test_nul_in_a_ticket_path(users, make_ticket):
    make_ticket()
    assert_page_error(login(users, "acme.user").get("/tickets/%00/"), "control character")


def test_nul_in_an_update_path(users, make_ticket):
    make_ticket()
    response = login(users, "acme.user").post("/tickets/%00/update/", {"body": "hello"})
    assert_page_error(response, "control character")
    assert not TicketUpdate.objects.exists()


def test_nul_in_an_escalate_path(users):
    response = login(users, "acme.contact").get("/tickets/INC%00/escalate/")
    assert_page_error(response, "control character")


def test_nul_in_an_api_query_parameter(users):
    response = login(users, "agent").get("/api/v1/escalations/?level=%00")
    body = assert_json_error(response, field="detail")
    assert "control character" in body["detail"]


def test_nul_in_a_token_name(users):
    response = login(users, "acme.user").post(reverse("account-tokens"), {"name": "a\x00b"})
    assert_page_error(response, "control character")
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\ud800"])
def test_control_characters_in_api_text_fields(users, api, char):
    body = json.dumps({"title": f"Phones{char}down", "description": "d"})  # \u escapes
    response = api(users["acme.user"]).post(
        "/api/v1/tickets/", body, content_type="application/json"
    )
    assert_json_error(response, field="detail")
    assert not Ticket.objects.exists()


def test_control_characters_in_a_json_key(users, api):
    response = api(users["acme.user"]).post(
        "/api/v1/tickets/", {"title\x00": "x", "description": "d"}, format="json"
    )
    assert_json_error(response, field="detail")


def test_tabs_and_newlines_are_text(users, api):
    response = api(users["acme.user"]).post(
        "/api/v1/tickets/",
        {"title": "Phones\tdown", "description": "line one\r\nline two\n"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().description == "line one\r\nline two"  # trimmed, not refused


def test_control_characters_in_a_page_form(users, make_ticket):
    ticket = make_ticket()
    client = login(users, "acme.user")
    response = client.post(reverse("ticket-update", args=[ticket.number]), {"body": "a\x07b"})
    assert_page_error(response, "control character")
    assert not TicketUpdate.objects.exists()
    # a textarea's line breaks are text
    response = client.post(reverse("ticket-update", args=[ticket.number]), {"body": "a\r\nb"})
    assert response.status_code == 302


def test_control_characters_in_a_multipart_form(users, make_ticket):
    from django.core.files.uploadedfile import SimpleUploadedFile

    ticket = make_ticket()
    client = login(users, "agent")
    upload = SimpleUploadedFile("notes.txt", b"hello", "text/plain")
    response = client.post(
        reverse("ticket-attach", args=[ticket.number]), {"file": upload, "internal": "o\x00n"}
    )
    assert_page_error(response, "control character")


def test_control_characters_in_a_query_parameter_of_a_page(users):
    response = login(users, "agent").get("/queue/?q=a%01b")
    assert_page_error(response, "control character")


def test_control_characters_in_an_idempotency_key(users, api):
    response = api(users["acme.user"]).post(
        "/api/v1/tickets/",
        {"title": "t", "description": "d"},
        format="json",
        headers={"Idempotency-Key": "a\x00b"},
    )
    assert_json_error(response, field="Idempotency-Key")
    assert not Ticket.objects.exists()


# --- dates outside 1970-01-01 .. 9000-01-01 -------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "reported_after=0001-01-01T00:00:00%2B14:00",
        "reported_before=9999-12-31T23:59:59-14:00",
        "reported_after=1969-12-31T23:59:59Z",
        "reported_before=9000-01-01T00:00:01Z",
    ],
)
def test_ticket_list_refuses_dates_outside_the_range(users, query):
    response = login(users, "agent").get(f"/api/v1/tickets/?{query}")
    body = assert_json_error(response, field=query.split("=")[0])
    assert "1970" in str(body)


def test_ticket_list_accepts_dates_at_the_edges(users):
    client = login(users, "agent")
    assert client.get("/api/v1/tickets/?reported_after=1970-01-01T00:00:00Z").status_code == 200
    assert client.get("/api/v1/tickets/?reported_before=9000-01-01T00:00:00Z").status_code == 200


def test_maintenance_list_refuses_dates_outside_the_range(users):
    response = login(users, "agent").get(
        "/api/v1/maintenance/?starts_after=0001-01-01T00:00:00%2B01:00"
    )
    assert_json_error(response, field="starts_after")


def test_transition_refuses_a_resolved_at_outside_the_range(users, make_ticket, api):
    ticket = make_ticket()
    client = api(users["agent"])
    client.post(f"/api/v1/tickets/{ticket.pk}/take/")
    response = client.post(
        f"/api/v1/tickets/{ticket.pk}/transition/",
        {
            "status": "resolved",
            "resolution_type": "definitive",
            "resolution_cause": "c",
            "resolution_how": "h",
            "resolved_at": "0001-01-01T00:00:00Z",
        },
        format="json",
    )
    body = assert_json_error(response, field="resolved_at")
    assert "1970" in str(body)
    ticket.refresh_from_db()
    assert ticket.status != "resolved"


def test_service_layer_refuses_a_date_outside_the_range(users, make_ticket):
    """A caller that bypasses the serializers (a script, the admin) meets the same rule."""
    from datetime import UTC, datetime

    from django.core.exceptions import ValidationError

    from tickets import services

    ticket = make_ticket()
    services.take(ticket, users["agent"])
    with pytest.raises(ValidationError) as refused:
        services.transition(
            ticket,
            users["agent"],
            "resolved",
            resolution={
                "resolution_type": "definitive",
                "resolution_cause": "c",
                "resolution_how": "h",
                "resolved_at": datetime(1, 1, 1, tzinfo=UTC),
            },
        )
    assert "resolved_at" in refused.value.message_dict


def test_page_form_refuses_a_date_outside_the_range(users, make_ticket):
    ticket = make_ticket()
    client = login(users, "agent")
    client.post(reverse("ticket-take", args=[ticket.number]))
    response = client.post(
        reverse("ticket-transition", args=[ticket.number]),
        {
            "status": "resolved",
            "resolution_type": "definitive",
            "resolution_cause": "c",
            "resolution_how": "h",
            "resolved_at": "0001-01-01T00:00",
        },
    )
    assert_form_error(response, "resolved_at", "1970-01-01")


# --- JSON: depth before parsing, size -------------------------------------------------------------


def deep_json(levels=100_000):
    return "[" * levels + "]" * levels


def test_deep_json_on_ticket_create(users, api):
    response = api(users["acme.user"]).post(
        "/api/v1/tickets/", deep_json(), content_type="application/json"
    )
    body = assert_json_error(response, field="detail")
    assert "deep" in body["detail"]


def test_deep_json_on_ticket_updates(users, make_ticket, api):
    ticket = make_ticket()
    body = json.dumps({"body": "x"})[:-1] + ', "next_actions": ' + deep_json() + "}"
    response = api(users["agent"]).post(
        f"/api/v1/tickets/{ticket.pk}/updates/", body, content_type="application/json"
    )
    assert_json_error(response, field="detail")
    assert not TicketUpdate.objects.exists()


def test_deep_json_on_the_anonymous_token_endpoint(users):
    response = Client().post(
        "/api/v1/auth/token/", '{"username": ' + deep_json(), content_type="application/json"
    )
    assert_json_error(response, field="detail")


def test_brackets_inside_strings_do_not_count(users, api):
    title = "[" * 200 + "{" * 200
    response = api(users["acme.user"]).post(
        "/api/v1/tickets/", {"title": title[:200], "description": title}, format="json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "raw, depth",
    [
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'"[[[[["', 0),
        (b'["\\"[[[", [[]]]', 3),
        (b'"unterminated [[[[', 0),
        (b"[" * 40, 40),
    ],
)
def test_json_depth_scan(raw, depth):
    assert inputs.json_depth(raw) == depth


def test_json_depth_scan_is_linear():
    """Pathological strings (unterminated, escaped quotes) scan in linear time."""
    import time

    body = b'"' + b'\\"' * 2_000_000
    started = time.perf_counter()
    inputs.json_depth(body)
    inputs.json_depth(body + b"\\")  # a lone backslash at the end
    inputs.json_depth(b"[]" * 2_500_000)
    assert time.perf_counter() - started < 5


def test_a_six_megabyte_json_body_gets_a_json_413(users, api):
    body = json.dumps({"title": "big", "description": "x" * (6 * 1024 * 1024)})
    response = api(users["acme.user"]).post(
        "/api/v1/tickets/", body, content_type="application/json"
    )
    body = assert_json_error(response, status=413, field="detail")
    assert "MB" in body["detail"]
    assert not Ticket.objects.exists()


def test_a_six_megabyte_form_body_on_a_page_gets_the_portal_layout(users, make_ticket):
    ticket = make_ticket()
    response = login(users, "acme.user").post(
        reverse("ticket-update", args=[ticket.number]), {"body": "x" * (6 * 1024 * 1024)}
    )
    assert_page_error(response, "MB", status=413)


# --- text length ----------------------------------------------------------------------------------


def test_a_five_megabyte_description_is_refused(users, api):
    response = api(users["acme.user"]).post(
        "/api/v1/tickets/",
        {"title": "t", "description": "x" * (5 * 1024 * 1024 - 100)},
        format="json",
    )
    body = assert_json_error(response, field="description")
    assert str(inputs.DESCRIPTION_MAX) in str(body) or "20" in str(body)
    assert not Ticket.objects.exists()


def test_a_description_at_the_limit_is_accepted(users, api):
    response = api(users["acme.user"]).post(
        "/api/v1/tickets/",
        {"title": "t", "description": "x" * inputs.DESCRIPTION_MAX},
        format="json",
    )
    assert response.status_code == 201, response.content[:300]


def test_the_page_form_shows_the_length_limit_on_the_field(users):
    response = login(users, "acme.user").post(
        reverse("ticket-create"),
        {"title": "t", "description": "x" * (inputs.DESCRIPTION_MAX + 1), "priority": "3"},
    )
    assert_form_error(response, "description", "at most 20000")
    assert not Ticket.objects.exists()


def test_every_text_field_has_a_length_limit():
    """Every model CharField has max_length (Django insists); every TextField that input can
    reach has a limit in pim.inputs.TEXT_LIMITS, and the serializers and forms use it."""
    from django.apps import apps
    from django.db import models

    missing = []
    for model in apps.get_models():
        if model._meta.app_label not in project_apps():
            continue
        for field in model._meta.get_fields():
            if isinstance(field, models.TextField):
                key = f"{model._meta.label}.{field.name}"
                if key not in inputs.TEXT_LIMITS:
                    missing.append(key)
    assert not missing, f"TextFields without a limit in pim.inputs.TEXT_LIMITS: {missing}"


def test_the_api_and_the_page_forms_enforce_the_text_limits(users, make_ticket, api):
    ticket = make_ticket()
    too_long = "x" * (inputs.UPDATE_BODY_MAX + 1)
    response = api(users["agent"]).post(
        f"/api/v1/tickets/{ticket.pk}/updates/", {"body": too_long}, format="json"
    )
    assert_json_error(response, field="body")
    response = login(users, "agent").post(
        reverse("ticket-update", args=[ticket.number]), {"body": too_long, "visibility": "public"}
    )
    assert_form_error(response, "body", "at most 20000")
    assert not TicketUpdate.objects.exists()


# --- every field of every form and serializer -----------------------------------------------------


def project_apps():
    """The project's own apps (those in this repository), so a new app is checked too."""
    from pathlib import Path

    from django.apps import apps
    from django.conf import settings

    base = Path(settings.BASE_DIR).resolve()
    return {
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(base)
        and ".venv" not in Path(config.path).parts
    }


def _project_classes(base):
    """Subclasses of `base` defined in the project's forms/api modules (imported by the URLs)."""
    import importlib
    import pkgutil

    for app in sorted(project_apps()):
        package = importlib.import_module(app)
        for module in pkgutil.iter_modules(package.__path__):
            if module.name in ("forms", "api") or module.name.startswith("api_"):
                importlib.import_module(f"{app}.{module.name}")
    seen, todo = set(), [base]
    while todo:
        for cls in todo.pop().__subclasses__():
            if cls not in seen:
                seen.add(cls)
                todo.append(cls)
    return sorted(
        (
            c
            for c in seen
            if c.__module__.split(".")[0] in project_apps()
            # The Django admin (provider admins only) builds its own fields; its bodies are
            # bounded by DATA_UPLOAD_MAX_MEMORY_SIZE and its dates by the services' checks.
            and not c.__module__.endswith(".admin")
        ),
        key=lambda c: f"{c.__module__}.{c.__qualname__}",
    )


def test_every_form_field_is_bounded():
    """Text has a maximum length, dates and times the supported range: a new form cannot forget."""
    from django import forms

    problems = []
    form_classes = _project_classes(forms.BaseForm)
    assert len(form_classes) >= 15
    for form_class in form_classes:
        for name, field in form_class.base_fields.items():
            where = f"{form_class.__module__}.{form_class.__qualname__}.{name}"
            if isinstance(field, forms.CharField) and field.max_length is None:
                problems.append(f"{where}: CharField without max_length")
            if isinstance(field, forms.DateTimeField) and not isinstance(
                field, inputs.DateTimeFormField
            ):
                problems.append(f"{where}: use pim.inputs.DateTimeFormField")
    assert not problems, "\n".join(problems)


# Serializers that only shape responses (nothing is ever parsed with them).
OUTPUT_ONLY = {
    "changes.api.ChangeApprovalSerializer",
    "changes.api.ChangeDocumentSerializer",
    "changes.api.ChangeSerializer",
    "sla.api.ComplianceRowSerializer",
    "sla.api.MajorChangeSerializer",
    "escalation.api.NotificationSerializer",
    "pim.api_tokens.TokenCreatedSerializer",
    "pim.api_tokens.TokenSerializer",
    "tickets.api.SlaClockSerializer",
}


def test_every_serializer_field_is_bounded(users, rf):
    """The same for every writable field of every API serializer (as an agent sees them)."""
    from rest_framework import serializers
    from rest_framework.request import Request

    from pim import serializers as pim_serializers

    request = Request(rf.get("/"))
    request.user = users["agent"]
    problems = []
    serializer_classes = [
        c
        for c in _project_classes(serializers.Serializer)
        if f"{c.__module__}.{c.__qualname__}" not in OUTPUT_ONLY
        and c is not pim_serializers.ModelSerializer  # the project's base class (no model)
    ]
    assert len(serializer_classes) >= 20
    for serializer_class in serializer_classes:
        try:
            fields = serializer_class(context={"request": request}).fields
        except TypeError:  # needs arguments: a helper, not an API serializer
            continue
        for name, field in fields.items():
            if field.read_only:
                continue
            where = f"{serializer_class.__module__}.{serializer_class.__qualname__}.{name}"
            children = [field, getattr(field, "child", None)]
            for f in filter(None, children):
                if isinstance(f, serializers.CharField) and f.max_length is None:
                    problems.append(f"{where}: CharField without max_length")
                if isinstance(f, serializers.DateTimeField) and not isinstance(
                    f, inputs.DateTimeApiField
                ):
                    problems.append(f"{where}: use pim.inputs.DateTimeApiField")
    assert not problems, "\n".join(problems)


# --- integers beyond any column ----------------------------------------------------------------


def test_in_lookup_with_an_integer_beyond_any_column(users, make_ticket):
    """What a ModelMultipleChoiceField builds from a posted "10**30": no OverflowError (SQLite)
    or DataError (PostgreSQL), the value simply matches nothing."""
    from pim.models import Organization

    ticket = make_ticket()
    huge = 10**30
    assert list(Ticket.objects.filter(pk__in=[huge])) == []
    assert list(Ticket.objects.filter(pk__in=[huge, ticket.pk])) == [ticket]
    assert Ticket.objects.exclude(pk__in=[huge]).count() == 1
    assert Organization.objects.filter(pk__in=[-huge]).count() == 0


def test_multiple_choice_fields_refuse_huge_ids(users):
    response = login(users, "agent").post(
        reverse("maintenance-create"),
        {
            "kind": "preventive",
            "title": "Core switch",
            "organizations": [str(10**30)],
            "services": ["1e300"],
            "starts_at": "2026-12-08T22:00",
            "ends_at": "2026-12-09T00:00",
            "impact": "none",
            "initiator": "provider",
        },
    )
    assert_form_error(response, "organizations", "Select a valid choice")


def test_an_unknown_feed_action_is_a_page_not_a_bare_400(users):
    response = login(users, "acme.user").post(
        reverse("maintenance-feed-settings"), {"action": "explode"}
    )
    assert_page_error(response, "revoke")


def test_html_in_text_is_shown_as_text(users, make_ticket):
    """No HTML is accepted as markup: what a customer types is escaped on every page."""
    ticket = make_ticket()
    client = login(users, "acme.user")
    client.post(
        reverse("ticket-update", args=[ticket.number]), {"body": "<script>alert(1)</script>"}
    )
    page = client.get(reverse("ticket-detail", args=[ticket.number])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_language_switch_redirects_only_within_the_portal(users, target):
    response = login(users, "acme.user").post(
        reverse("set-language"), {"language": "nl", "next": target}
    )
    assert response.status_code == 302 and response["Location"] == "/"


@pytest.mark.parametrize(
    "url, field",
    [
        ("/admin/escalation/trigger/add/", "priorities"),
        ("/admin/sla/slapolicy/add/", "always_priorities"),
    ],
)
@pytest.mark.parametrize("value", ["1,²", "1,abc", "0", "6", "1;2"])
def test_admin_priority_lists_are_checked(users, url, field, value):
    """The SLA and escalation code reads these settings with int(): '²' saved here would break
    every ticket later, far from the input."""
    admin = users["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = login(users, "admin")
    response = client.post(url, {field: value})
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors


def test_parse_priorities():
    assert inputs.parse_priorities("1, 2,") == {1, 2}
    assert inputs.parse_priorities("") == set()


@pytest.mark.parametrize("since", ["0001-01", "9999-12", "٢٠٢٦-١٢", "2026-13", "2026-1"])
def test_compliance_api_refuses_impossible_months(users, since):
    response = login(users, "csm").get(f"/api/v1/sla/compliance/?since={since}")
    assert_json_error(response, field="since")


def test_a_session_cookie_with_nul_is_not_a_session(users):
    """Django decodes octal escapes in quoted cookies: "\\000" reaches the session lookup as NUL
    (PostgreSQL: DataError). Such a cookie is dropped: the visitor is simply not logged in."""
    from django.conf import settings

    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = "abcdefgh\x00ijklmnop"
    response = client.get("/tickets/")
    assert response.status_code == 302 and reverse("login") in response["Location"]
    raw = Client(headers={"Cookie": f'{settings.SESSION_COOKIE_NAME}="abcdefgh\\000ijkl"'})
    assert raw.get("/tickets/").status_code == 302


def test_a_foreign_key_lookup_beyond_any_id_matches_nothing(users):
    # The admin allows a lookup on any local field: ?ticket=<31 digits> on the notifications'
    # changelist raised OverflowError on SQLite (DataError on PostgreSQL) before.
    from escalation.models import Notification

    assert not Notification.objects.filter(ticket=10**30).exists()
    assert not Notification.objects.filter(ticket=-(10**30)).exists()
    admin = users["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save(update_fields=["is_staff", "is_superuser"])
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/escalation/notification/?ticket=" + "1" + "0" * 30)
    assert page.status_code in (200, 302)
