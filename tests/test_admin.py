"""The Django admin for a Dutch office (issue 15 item 9): the admin speaks the admin user's
language (Django's own gaps filled in our catalogue, every label of ours translated), shows
times in Europe/Amsterdam, a priority history without "None", and only service desk staff as
assignees; an edit through the admin is audited."""

import contextlib
import inspect
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib import admin
from django.contrib.admin import helpers as admin_helpers
from django.contrib.admin import utils as admin_utils
from django.contrib.admin.templatetags import admin_list
from django.templatetags.static import static
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from freezegun import freeze_time

from pim import admin_icons
from pim.models import Role
from tests.test_language_leak import catalogue, user_content, visible_text
from tickets import services
from tickets.models import AuditEntry, Ticket

# Texts Django 6.1 shows in English whatever the language (its Dutch catalogue lacks them), and
# labels of ours that had no translation: none may be left on a Dutch page.
ENGLISH_LEFTOVERS = [
    "- Select an option -",
    "Search tickets",
    "Filter by",
    "Pagination tickets",
    "Priority changes",
    "Changed at",
    "Changed by",
    "Old priority",
    "New priority",
    "Created at",
    "PNone",
    "TOTP devices",
    "Static devices",
    "Otp_Totp",
]


@pytest.fixture
def admin_user(users):
    admin_user = users["admin"]
    admin_user.is_staff = admin_user.is_superuser = True  # as seed_demo makes the admin
    admin_user.save(update_fields=["is_staff", "is_superuser"])
    return admin_user


def admin_client(user, language):
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ticket(make_ticket, users):
    with freeze_time(datetime(2026, 1, 15, 12, 0, tzinfo=UTC)):  # 13:00 in Amsterdam (CET)
        ticket = make_ticket(priority=3)
    services.take(ticket, users["agent"])
    return Ticket.objects.get(pk=ticket.pk)


def admin_pages(user):
    """Every registered model's list, add form and first object's form."""
    request = type("Request", (), {"user": user})()
    for model, model_admin in admin.site._registry.items():
        info = model._meta.app_label, model._meta.model_name
        yield reverse("admin:{}_{}_changelist".format(*info))
        if model_admin.has_add_permission(request):
            yield reverse("admin:{}_{}_add".format(*info))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            with contextlib.suppress(NoReverseMatch):
                yield reverse("admin:{}_{}_change".format(*info), args=[first.pk])


def test_the_dutch_admin_speaks_dutch_everywhere(admin_user, ticket):
    client = admin_client(admin_user, "nl")
    _dutch, english = catalogue()
    content = user_content()
    problems, rendered = [], 0
    for url in ["/admin/", *admin_pages(admin_user)]:
        response = client.get(url)
        assert response.status_code == 200, url
        rendered += 1
        text = visible_text(response.text, content)
        leaked = sorted(p for p in english if p in text)
        leaked += [p for p in ENGLISH_LEFTOVERS if p in text]
        if leaked:
            problems.append(f"{url}: {leaked[:6]}")
    assert rendered > 40
    assert not problems, "English on Dutch admin pages:\n" + "\n".join(problems)


def test_the_ticket_admin_in_dutch_and_in_english(admin_user, ticket):
    change = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    changelist = reverse("admin:tickets_ticket_changelist")

    dutch = admin_client(admin_user, "nl")
    page = dutch.get(changelist).text + dutch.get(change).text
    for text in ["Zoeken in tickets", "Filteren op gemeld op", "- Kies een optie -",
                 "Prioriteitshistorie", "Gewijzigd door", "Oude prioriteit", "Audittrail",
                 "heeft de melding opgepakt", "Behandelaar"]:  # fmt: skip
        assert text in page, text

    english = admin_client(admin_user, "en")
    page = english.get(changelist).text + english.get(change).text
    for text in ["Search tickets", "Filter by reported at", "- Select an option -",
                 "Priority history", "Changed by", "Old priority", "took the ticket"]:  # fmt: skip
        assert text in page, text
    for text in ["Zoeken in", "Kies een optie", "Prioriteitshistorie", "opgepakt"]:
        assert text not in page, text


def test_admin_times_are_amsterdam_time(admin_user, ticket):
    page = admin_client(admin_user, "nl").get(
        reverse("admin:tickets_ticket_change", args=[ticket.pk])
    )
    # Registered 12:00 UTC: 13:00 in Amsterdam in the form, the history and the audit trail.
    assert "15 januari 2026 13:00" in page.text
    assert "15-01-2026 13:00" in page.text  # the audit entry's own line, and its changes
    assert "12:00" not in visible_text(page.text, [])
    assert str(AuditEntry.objects.filter(ticket=ticket).first()) == "15-01-2026 13:00"


def test_priority_history_without_none(admin_user, ticket, users):
    services.change_priority(ticket, users["agent"], 2, "Meer werkplekken getroffen")
    page = admin_client(admin_user, "nl").get(
        reverse("admin:tickets_ticket_change", args=[ticket.pk])
    )
    text = visible_text(page.text, [])
    assert "None" not in text
    assert "— → P3" in text and "P3 → P2" in text
    assert "Prioriteit bij registratie" in text  # the system reason in the reader's language


def assignee_options(client, ticket):
    page = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).text
    select = re.search(r'<select name="assignee".*?</select>', page, re.S).group(0)
    return {int(v) for v in re.findall(r'<option value="(\d+)"', select)}


def test_assignee_choices_are_service_desk_staff_only(admin_user, ticket, users):
    client = admin_client(admin_user, "nl")
    offered = assignee_options(client, ticket)
    assert {users[u].pk for u in ("agent", "oncall", "admin")} <= offered
    customers_and_managers = {
        users[u].pk
        for u in ("acme.user", "acme.contact", "globex.user", "globex.contact", "csm",
                  "director")
    }  # fmt: skip
    assert not offered & customers_and_managers
    # A customer sent anyway is refused by the form.
    form = {"title": ticket.title, "description": ticket.description,
            "assignee": users["acme.contact"].pk, **inline_management()}  # fmt: skip
    response = client.post(reverse("admin:tickets_ticket_change", args=[ticket.pk]), form)
    assert response.status_code == 200 and "errorlist" in response.text
    assert Ticket.objects.get(pk=ticket.pk).assignee == users["agent"]


def inline_management():
    data = {}
    for prefix in ("priority_changes", "updates", "audit_entries"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    return data


def test_an_admin_edit_of_a_ticket_is_audited(admin_user, ticket, users):
    client = admin_client(admin_user, "nl")
    form = {"title": "Telefooncentrale plat", "description": ticket.description,
            "assignee": users["oncall"].pk, **inline_management()}  # fmt: skip
    response = client.post(reverse("admin:tickets_ticket_change", args=[ticket.pk]), form)
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(ticket=ticket).last()
    assert entry.actor == admin_user and entry.action == "updated"
    assert entry.changes == {
        "title": [ticket.title, "Telefooncentrale plat"],
        "assignee": ["agent", "oncall"],
    }


def test_two_factor_devices_read_only_in_the_readers_language(admin_user, users):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=users["agent"], name="telefoon", confirmed=True)
    client = admin_client(admin_user, "nl")
    page = client.get(reverse("admin:otp_totp_totpdevice_changelist")).text
    assert "Authenticator-apps" in page and "Laatst gebruikt" in page
    change = reverse("admin:otp_totp_totpdevice_change", args=[device.pk])
    assert 'name="name"' not in client.get(change).text  # shown, not edited
    delete = reverse("admin:otp_totp_totpdevice_delete", args=[device.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()


def test_boolean_icons_speak_the_readers_language(admin_user, users):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=users["agent"], name="telefoon", confirmed=True)
    users["acme.user2"].is_active = False
    users["acme.user2"].save(update_fields=["is_active"])
    yes, no = static("admin/img/icon-yes.svg"), static("admin/img/icon-no.svg")
    changelist = reverse("admin:pim_user_changelist")  # its "active" column
    change = reverse("admin:otp_totp_totpdevice_change", args=[device.pk])  # read-only field

    dutch = admin_client(admin_user, "nl")
    page = dutch.get(changelist).text
    assert f'<img src="{yes}" alt="Ja">' in page and f'<img src="{no}" alt="Nee">' in page
    assert f'<img src="{yes}" alt="Ja">' in dutch.get(change).text
    english = admin_client(admin_user, "en")
    page = english.get(changelist).text
    assert f'<img src="{yes}" alt="Yes">' in page and f'<img src="{no}" alt="No">' in page
    assert f'<img src="{yes}" alt="Yes">' in english.get(change).text
    for page in (dutch.get(changelist).text, english.get(change).text):
        assert not re.search(r'alt="(True|False|None)"', page)
    with translation.override("nl"):
        unknown = static("admin/img/icon-unknown.svg")
        assert admin_icons.boolean_icon(None) == f'<img src="{unknown}" alt="Onbekend">'


def test_django_still_draws_boolean_icons_as_admin_icons_expects():
    """pim.admin_icons replaces a private function of Django's admin: when a Django upgrade
    changes it (or translates its alt text), this fails and the replacement can be reviewed."""
    assert admin_list._boolean_icon is admin_icons.boolean_icon  # installed at start-up
    original = admin_icons.DJANGO_BOOLEAN_ICON
    assert list(inspect.signature(original).parameters) == ["field_val"]
    for value, icon in [(True, "yes"), (False, "no"), (None, "unknown")]:
        src = static(f"admin/img/icon-{icon}.svg")
        assert original(value) == f'<img src="{src}" alt="{value}">'
        assert admin_icons.boolean_icon(value).startswith(f'<img src="{src}" alt="')
    # Its callers (the list's cells, read-only fields) find it in admin_list when they draw.
    importing = "from django.contrib.admin.templatetags.admin_list import _boolean_icon"
    assert importing in inspect.getsource(admin_helpers.AdminReadonlyField.contents)
    assert importing in inspect.getsource(admin_utils.display_for_field)
    assert importing in inspect.getsource(admin_utils.display_for_value)


def test_the_admin_calendar_script_speaks_dutch(admin_user):
    catalog = admin_client(admin_user, "nl").get("/admin/jsi18n/").text
    assert "Vandaag (%(date)s)" in catalog and "Today (%(date)s)" in catalog  # msgid → msgstr


def test_an_empty_to_field_is_a_clear_400(admin_user):
    from escalation.models import MatrixRow

    row = MatrixRow.objects.order_by("pk").first()
    url = reverse("admin:escalation_matrixrow_change", args=[row.pk])
    response = admin_client(admin_user, "en").get(url, {"_to_field": ""})
    assert response.status_code == 400  # Django looked up a field named "" (500)
    assert "may not be empty" in response.text


# --- escalation matrix roles -----------------------------------------------------------------


def matrix_form(row, **roles):
    data = {"level": row.level, "deputy_after_minutes": row.deputy_after_minutes or ""}
    for name in ("owner_roles", "deputy1_roles", "deputy2_roles"):
        data[name] = roles.get(name, row.roles_for_tier(("owner_roles", "deputy1_roles",
                                                         "deputy2_roles").index(name)))  # fmt: skip
    return data


def test_matrix_roles_are_a_choice_of_the_spec_roles(admin_user):
    from escalation.models import MatrixRow

    row = MatrixRow.objects.get(level="high")
    url = reverse("admin:escalation_matrixrow_change", args=[row.pk])
    client = admin_client(admin_user, "nl")
    page = client.get(url).text
    assert 'type="checkbox" name="owner_roles" value="ops_manager"' in page
    assert "Teammanager Operations" in page  # the roles by name
    for role in row.roles_for_tier(0):  # the stored roles are ticked
        assert re.search(rf'name="owner_roles" value="{role}"[^>]*checked', page), role

    before = MatrixRow.objects.get(pk=row.pk).owner_roles
    refused = client.post(url, matrix_form(row, owner_roles=["ops_manager", "janitor"]))
    assert refused.status_code == 200 and "errorlist" in refused.text
    assert MatrixRow.objects.get(pk=row.pk).owner_roles == before

    saved = client.post(url, matrix_form(row, owner_roles=["ops_director", "csm"]))
    assert saved.status_code == 302
    row.refresh_from_db()
    assert row.owner_roles == "csm,ops_director"  # the stored format, in the roles' order
    assert row.roles_for_tier(0) == ["csm", "ops_director"]


# --- recomputing clocks ------------------------------------------------------------------------


def spoil_a_clock(ticket):
    """A clock whose stored due time no longer follows from the ledger (as after a correction
    of its calendar that nobody recomputed)."""
    from sla.models import Clock

    clock = Clock.objects.filter(ticket=ticket, stopped_at__isnull=True).order_by("pk").first()
    right = clock.due_at
    Clock.objects.filter(pk=clock.pk).update(due_at=right + timedelta(days=30))
    return clock, right


def test_the_recompute_action_mends_a_stale_clock(
    admin_user, ticket, eager_tasks, django_capture_on_commit_callbacks
):
    clock, right = spoil_a_clock(ticket)
    client = admin_client(admin_user, "nl")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:tickets_ticket_changelist"),
            {"action": "recompute_clocks", "_selected_action": [ticket.pk]},
            follow=True,
        )
    assert "1 open ticket wordt herberekend." in response.text
    clock.refresh_from_db()
    assert clock.due_at == right


def calendar_form(calendar, first_opens="08:00"):
    data = {"name": calendar.name, "timezone": calendar.timezone,
            "holiday_country": calendar.holiday_country,
            "dates-TOTAL_FORMS": 0, "dates-INITIAL_FORMS": 0}  # fmt: skip
    if calendar.always_open:
        data["always_open"] = "on"
    hours = list(calendar.hours.all())
    data.update({"hours-TOTAL_FORMS": len(hours), "hours-INITIAL_FORMS": len(hours)})
    for i, h in enumerate(hours):
        data.update({f"hours-{i}-id": h.pk, f"hours-{i}-calendar": calendar.pk,
                     f"hours-{i}-weekday": h.weekday,
                     f"hours-{i}-opens": first_opens if i == 0 else "08:00",
                     f"hours-{i}-closes": "17:00"})  # fmt: skip
    return data


def test_saving_a_calendar_recomputes_its_open_tickets(
    admin_user, ticket, eager_tasks, django_capture_on_commit_callbacks
):
    from sla.models import Calendar

    clock, right = spoil_a_clock(ticket)
    calendar = Calendar.objects.get(pk=clock.calendar_id)
    data = calendar_form(calendar)
    client = admin_client(admin_user, "en")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:sla_calendar_change", args=[calendar.pk]), data, follow=True
        )
    assert response.redirect_chain, response.text[:3000]
    assert "1 open ticket is being recomputed." in response.text
    clock.refresh_from_db()
    assert clock.due_at == right


def test_policy_and_contract_recompute_their_open_tickets_only(make_ticket, users, ticket):
    from sla.models import Contract, SlaPolicy
    from sla.services import open_tickets_affected

    policy = SlaPolicy.objects.get(pk=ticket.sla_terms.terms["policy"])
    assert set(open_tickets_affected(policy_ids=[policy.pk])) == {ticket}
    contract = Contract.objects.create(
        organization=ticket.organization, policy=policy, valid_from=datetime(2020, 1, 1).date()
    )
    later = make_ticket()  # registered under the contract
    assert set(open_tickets_affected(contract_ids=[contract.pk])) == {later}
    assert set(open_tickets_affected(ticket_ids=[])) == set()


# --- configuration edits in the admin log ------------------------------------------------------


def test_sla_terms_and_matrix_edits_are_logged_with_old_and_new_values(admin_user):
    from django.contrib.admin.models import LogEntry

    from escalation.models import MatrixRow
    from sla.models import Calendar

    calendar = Calendar.objects.get(name="Kantoortijden NL")
    client = admin_client(admin_user, "en")
    url = reverse("admin:sla_calendar_change", args=[calendar.pk])
    assert client.post(url, calendar_form(calendar, first_opens="09:00")).status_code == 302
    entry = LogEntry.objects.get(object_id=str(calendar.pk), content_type__model="calendar")
    assert entry.user == admin_user and entry.action_time is not None
    assert "Opens: 08:00 → 09:00" in entry.get_change_message()

    row = MatrixRow.objects.get(level="high")
    old_owner = ", ".join(str(dict(Role.choices)[r]) for r in row.roles_for_tier(0))
    url = reverse("admin:escalation_matrixrow_change", args=[row.pk])
    assert client.post(url, matrix_form(row, owner_roles=["csm"])).status_code == 302
    entry = LogEntry.objects.get(object_id=str(row.pk), content_type__model="matrixrow")
    assert f"Owner: {old_owner} → Customer Service Manager" in entry.get_change_message()
    assert str(entry.user) == "admin"
