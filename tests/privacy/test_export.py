"""An access request (AVG/GDPR art. 15, ASVS 8.3.2/8.3.5): everything PIM holds about one
person as JSON, from a management command or an admin action, each export in the privacy log."""

import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from maintenance.models import Subscription
from pim.auth import create_token
from pim.models import User
from privacy.export import export_person
from privacy.models import PrivacyAction, PrivacyEvent
from tests.privacy.conftest import EMAIL, PHONE

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/pim/user/"


def test_export_holds_everything_about_the_person_and_nothing_else(history, users, acme):
    person = users["acme.user"]
    _token, key = create_token(person, "Zapier")
    Subscription.objects.create(user=person, organization=acme)
    data = export_person(person, via="command")
    text = json.dumps(data)  # JSON-ready as it is

    assert data["format"] == "pim-personal-data/1"
    assert data["account"]["username"] == "acme.user"
    assert data["account"]["email"] == "acme.user@example.com"
    assert data["account"]["organization"] == "Acme Zorg"
    numbers = {t["number"] for t in data["reported_tickets"]}
    assert numbers == {history["ticket"].number, history["open"].number}
    assert history["later"].number not in text  # acme.user2's ticket
    assert any(PHONE in u["body"] for u in data["updates_written"])
    assert {a["name"] for a in data["attachments_uploaded"]} == {"error-log.pdf", "display.png"}
    (mail,) = data["inbound_emails"]
    assert mail["from"] == "Acme.User@Example.com" and mail["ticket"] == history["ticket"].number
    assert data["notifications"]  # the receipts she got
    assert {e["action"] for e in data["audit_trail"]} >= {"update", "transition"}
    assert data["maintenance_subscriptions"] == [{"organization": "Acme Zorg", "service": None}]
    (token,) = data["api_tokens"]
    assert token["name"] == "Zapier" and key not in text and "digest" not in token
    assert "jan@unknown-company.example" not in text  # someone else's e-mail
    # Staff see what the contact wrote; the contact's export holds her escalation and reason.
    contact = export_person(users["acme.contact"], via="command")
    (escalation,) = contact["escalations"]
    assert escalation["raised_by_you"] and "020 123 4567" in escalation["reason"]


def test_every_export_is_in_the_privacy_log_without_the_data(history, users):
    export_person(users["acme.user"], actor=users["admin"], via="admin")
    event = PrivacyEvent.objects.get()
    assert event.action == PrivacyAction.EXPORTED
    assert (event.actor, event.subject, event.subject_label) == (
        users["admin"],
        users["acme.user"],
        "acme.user",
    )
    assert event.details["records"]["reported_tickets"] == 2
    logged = json.dumps(event.details)
    assert PHONE not in logged and EMAIL not in logged and "acme.user@example.com" not in logged
    # The next export shows the person that the previous one happened.
    again = export_person(users["acme.user"], via="command")
    assert [e["action"] for e in again["privacy_log"]] == ["exported"]


def test_export_query_count_does_not_grow_with_the_data(users, make_ticket):
    person = users["acme.user"]
    make_ticket("acme.user")

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            export_person(person, via="command")
        return len(ctx.captured_queries)

    few = queries()
    for _ in range(5):
        make_ticket("acme.user")
    assert queries() == few


def test_management_command_writes_json(history, users, tmp_path, capsys):
    target = tmp_path / "export.json"
    call_command("export_personal_data", "acme.user", "--output", str(target))
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["account"]["username"] == "acme.user"
    call_command("export_personal_data", "acme.contact")
    assert json.loads(capsys.readouterr().out)["account"]["username"] == "acme.contact"
    assert PrivacyEvent.objects.filter(via="command").count() == 2


def test_management_command_unknown_user_is_an_error():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("export_personal_data", "nobody")


@pytest.fixture
def admin_client_(client, users):
    User.objects.filter(pk=users["admin"].pk).update(is_staff=True, is_superuser=True)
    client.force_login(users["admin"])
    return client


def test_admin_action_downloads_the_export_and_logs_who_asked(admin_client_, users, history):
    person = users["acme.user"]
    response = admin_client_.post(
        CHANGELIST, {"action": "export_personal_data", "_selected_action": [person.pk]}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert json.loads(response.content)["account"]["username"] == "acme.user"
    event = PrivacyEvent.objects.get()
    assert (event.actor, event.subject, event.via) == (users["admin"], person, "admin")


def test_admin_action_wants_exactly_one_person(admin_client_, users):
    response = admin_client_.post(
        CHANGELIST,
        {
            "action": "export_personal_data",
            "_selected_action": [users["acme.user"].pk, users["acme.user2"].pk],
        },
        follow=True,
    )
    assert response.status_code == 200
    assert not PrivacyEvent.objects.exists()
    assert any("exactly one" in str(m) or "precies" in str(m) for m in response.context["messages"])


def test_privacy_log_is_read_only_in_the_admin(admin_client_, users):
    export_person(users["acme.user"], via="command")
    event = PrivacyEvent.objects.get()
    assert admin_client_.get("/admin/privacy/privacyevent/").status_code == 200
    assert admin_client_.get("/admin/privacy/privacyevent/add/").status_code == 403
    delete = admin_client_.post(f"/admin/privacy/privacyevent/{event.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert PrivacyEvent.objects.filter(pk=event.pk).exists()


def test_customers_cannot_reach_the_admin_action(client, users):
    client.force_login(users["acme.contact"])
    response = client.post(
        CHANGELIST, {"action": "export_personal_data", "_selected_action": [users["acme.user"].pk]}
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not PrivacyEvent.objects.exists()
