"""The agent's ticket page (issue 15 item 3): the composer at the top (reply or internal note,
status change and several files in one submit), canned responses, "also working on this",
the timeline's order, keyboard shortcuts, and unique ids with labels that point at controls."""

import re
from collections import Counter
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from escalation.models import Notification
from tickets import canned, services
from tickets.models import (
    Attachment,
    AuditEntry,
    CannedResponse,
    Status,
    TicketUpdate,
    Visibility,
)


@pytest.fixture
def login(client, users):
    def _login(username, into=None):
        into = into or client
        into.force_login(users[username])
        return into

    return _login


def detail_url(ticket, query=""):
    return reverse("ticket-detail", args=[ticket.number]) + query


def update_url(ticket):
    return reverse("ticket-update", args=[ticket.number])


def presence_url(ticket):
    return reverse("ticket-presence", args=[ticket.number])


def pdf(name="report.pdf", content=b"%PDF-1.4 report"):
    return SimpleUploadedFile(name, content, "application/pdf")


def told(ticket, user, since_pk):
    """The events (triggers) `user` was told about `ticket` after notification `since_pk`."""
    rows = Notification.objects.filter(ticket=ticket, recipient=user, pk__gt=since_pk)
    return sorted({row.trigger for row in rows})


def last_notification_pk():
    return Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# --- the composer: one submit ----------------------------------------------------------------


def test_reply_status_change_and_two_files_in_one_submit(login, make_ticket, users):
    ticket = make_ticket()
    services.take(ticket, users["agent"])
    since, audit_before = last_notification_pk(), AuditEntry.objects.filter(ticket=ticket).count()
    response = login("agent").post(
        update_url(ticket),
        {
            "body": "Which floor is affected?",
            "visibility": "public",
            "status": Status.WAITING_FOR_CUSTOMER,
            "files": [pdf("floorplan.pdf"), SimpleUploadedFile("trace.txt", b"hop 1\nhop 2")],
        },
    )
    assert response.status_code == 302

    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_FOR_CUSTOMER
    update = TicketUpdate.objects.get(ticket=ticket)
    assert update.body == "Which floor is affected?" and update.visibility == Visibility.PUBLIC
    attachments = Attachment.objects.filter(ticket=ticket).order_by("original_name")
    assert [a.original_name for a in attachments] == ["floorplan.pdf", "trace.txt"]
    assert all(a.update_id == update.pk and not a.internal for a in attachments)
    actions = Counter(
        AuditEntry.objects.filter(ticket=ticket)
        .order_by("pk")[audit_before:]
        .values_list("action", flat=True)
    )
    assert actions == {"update": 1, "attachment": 2, "transition": 1}
    # The reporter hears it once: the question of "waiting for customer" carries the reply.
    triggers = told(ticket, users["acme.user"], since)
    assert len(triggers) == 1 and triggers[0].startswith("waiting:")
    note = Notification.objects.filter(trigger=triggers[0]).first().context["note"]
    assert note == "Which floor is affected?"
    # The waiting banner shows the question.
    page = login("acme.user").get(detail_url(ticket)).text
    assert 'id="waiting-banner"' in page and "Which floor is affected?" in page


def test_reply_without_status_change_is_told_as_an_update(login, make_ticket, users):
    ticket = make_ticket()
    since = last_notification_pk()
    response = login("agent").post(
        update_url(ticket), {"body": "On it", "visibility": "public", "status": "", "files": []}
    )
    assert response.status_code == 302
    triggers = told(ticket, users["acme.user"], since)
    assert len(triggers) == 1 and triggers[0].startswith("update:")


def test_internal_note_with_status_change_and_file_stays_internal(login, make_ticket, users):
    ticket = make_ticket()
    services.take(ticket, users["agent"])
    since = last_notification_pk()
    response = login("agent").post(
        update_url(ticket),
        {
            "body": "Supplier ticket 4711",
            "visibility": "internal",
            "status": Status.WAITING_FOR_SUPPLIER,
            "files": [pdf("supplier.pdf")],
        },
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_FOR_SUPPLIER
    assert TicketUpdate.objects.get(ticket=ticket).visibility == Visibility.INTERNAL
    assert Attachment.objects.get(ticket=ticket).internal
    triggers = told(ticket, users["acme.user"], since)
    assert len(triggers) == 1 and triggers[0].startswith("status:")  # the status, not the note
    rows = Notification.objects.filter(ticket=ticket, pk__gt=since)
    assert all("Supplier ticket 4711" not in str(row.context) for row in rows)
    page = login("acme.user").get(detail_url(ticket)).text
    assert "Supplier ticket 4711" not in page and "supplier.pdf" not in page


def test_a_refused_file_saves_nothing_and_keeps_the_text(login, make_ticket, users):
    ticket = make_ticket()
    services.take(ticket, users["agent"])
    before = {
        "updates": TicketUpdate.objects.count(),
        "attachments": Attachment.objects.count(),
        "audit": AuditEntry.objects.count(),
        "notifications": Notification.objects.count(),
    }
    response = login("agent").post(
        update_url(ticket),
        {
            "body": "Here is the log and the tool",
            "visibility": "public",
            "status": Status.WAITING_FOR_CUSTOMER,
            "files": [pdf("log.pdf"), SimpleUploadedFile("tool.exe", b"MZ\x90\x00\x03\x00")],
        },
    )
    assert response.status_code == 200
    errors = response.context["update_form"].errors["files"]
    assert any("tool.exe" in e for e in errors)
    assert "tool.exe" in response.text and "Here is the log and the tool" in response.text
    ticket.refresh_from_db()
    assert ticket.status == Status.PLANNED_INTERNAL
    assert {
        "updates": TicketUpdate.objects.count(),
        "attachments": Attachment.objects.count(),
        "audit": AuditEntry.objects.count(),
        "notifications": Notification.objects.count(),
    } == before


def test_a_program_renamed_pdf_is_refused_too(login, make_ticket):
    ticket = make_ticket()
    response = login("acme.user").post(
        update_url(ticket),
        {"body": "see attached", "files": [pdf(), pdf("invoice.pdf", b"MZ\x90\x00\x03\x00")]},
    )
    assert response.status_code == 200
    assert any("invoice.pdf" in e for e in response.context["update_form"].errors["files"])
    assert not TicketUpdate.objects.exists() and not Attachment.objects.exists()


def test_a_failing_status_change_saves_nothing(login, make_ticket, users):
    ticket = make_ticket()
    services.take(ticket, users["agent"])
    response = login("agent").post(
        update_url(ticket),
        {
            "body": "We continue on the customer's date",
            "visibility": "public",
            "status": Status.PLANNED_EXTERNAL,  # needs a wish date
            "files": [pdf()],
        },
    )
    assert response.status_code == 200
    assert response.context["update_form"].errors["wish_date"]
    assert not TicketUpdate.objects.exists() and not Attachment.objects.exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.PLANNED_INTERNAL


def test_customer_reply_box_takes_files_but_no_status(login, make_ticket, users):
    ticket = make_ticket()
    client = login("acme.user")
    page = client.get(detail_url(ticket)).text
    assert 'name="files"' in page and "multiple" in page
    assert 'name="status"' not in page.split('id="composer"')[1].split("</form>")[0]
    response = client.post(
        update_url(ticket),
        {"body": "Photo of the error", "status": Status.CLOSED, "files": [pdf("photo.pdf")]},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW  # a customer's composer has no status field
    attachment = Attachment.objects.get(ticket=ticket)
    assert attachment.update.body == "Photo of the error" and not attachment.internal


def test_an_empty_composer_is_a_form_error(login, make_ticket):
    ticket = make_ticket()
    response = login("agent").post(update_url(ticket), {"body": "  ", "visibility": "public"})
    assert response.status_code == 200
    assert response.context["update_form"].errors
    assert not TicketUpdate.objects.exists()


def test_files_alone_are_attached(login, make_ticket):
    ticket = make_ticket()
    response = login("agent").post(
        update_url(ticket), {"body": "", "visibility": "internal", "files": [pdf()]}
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get(ticket=ticket)
    assert attachment.internal and attachment.update is None


def test_too_many_files_at_once(login, make_ticket):
    ticket = make_ticket()
    files = [pdf(f"f{i}.pdf") for i in range(services.COMPOSER_MAX_FILES + 1)]
    response = login("agent").post(
        update_url(ticket), {"body": "x", "visibility": "public", "files": files}
    )
    assert response.status_code == 200
    assert response.context["update_form"].errors["files"]
    assert not Attachment.objects.exists()


def test_htmx_composer_with_a_status_change_reloads_the_page(login, make_ticket, users):
    ticket = make_ticket()
    services.take(ticket, users["agent"])
    response = login("agent").post(
        update_url(ticket),
        {
            "body": "Waiting for the carrier",
            "visibility": "public",
            "status": Status.WAITING_FOR_SUPPLIER,
        },
        headers={"HX-Request": "true"},
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_FOR_SUPPLIER
    assert response["HX-Redirect"] == ticket.get_absolute_url()


def test_composer_is_at_the_top_and_offers_the_allowed_moves(login, make_ticket, users):
    ticket = make_ticket()
    services.take(ticket, users["agent"])
    page = login("agent").get(detail_url(ticket)).text
    main = page.index('id="ticket-main"')
    assert main < page.index('id="composer"') < page.index('id="ticket-description"')
    assert page.index('id="composer"') < page.index('id="ticket-activity"')
    composer = page.split('id="composer"')[1].split("</form>")[0]
    assert 'enctype="multipart/form-data"' in page.split('id="composer"')[0].rsplit("<form", 1)[1]
    offered = re.findall(r'<option value="([a-z_]*)"', composer.split('name="status"')[1])
    assert "" in offered and Status.WAITING_FOR_CUSTOMER in offered
    assert Status.RESOLVED not in offered  # resolving has its own form (the fix)
    assert reverse("ticket-attach", args=[ticket.number]) not in page  # no separate upload form


# --- canned responses ------------------------------------------------------------------------


def test_placeholders_are_filled_for_the_ticket(make_ticket, users):
    users["acme.user"].first_name, users["acme.user"].last_name = "Anna", "de Vries"
    users["acme.user"].save()
    users["agent"].first_name = "Bram"
    users["agent"].save()
    ticket = make_ticket(title="Printer offline")
    values = canned.values_for(ticket, users["agent"])
    text = canned.fill(
        "Dear {reporter_name}, about {ticket_number} ({ticket_title}): fixed. {agent_name}", values
    )
    assert text == f"Dear Anna de Vries, about {ticket.number} (Printer offline): fixed. Bram"


@pytest.mark.parametrize(
    "hostile",
    [
        "{__class__}",
        "{reporter_name.__class__}",
        "{reporter_name.__init__.__globals__}",
        "{reporter_name[0]}",
        "{reporter_name:>99999999}",
        "{0}",
        "{",
        "}{",
        "$reporter_name $$ ${} $",
        "{{ ticket.reporter.password }}",
        "{% debug %}",
        "{unknown_placeholder}",
    ],
)
def test_hostile_bodies_stay_literal(make_ticket, users, hostile):
    ticket = make_ticket()
    assert canned.fill(hostile, canned.values_for(ticket, users["agent"])) == hostile


def test_agents_insert_canned_responses_filled_and_escaped(login, make_ticket, users):
    users["acme.user"].first_name = "Anna"
    users["acme.user"].language = "nl"
    users["acme.user"].save()
    CannedResponse.objects.create(title="Thanks", body="Thank you {reporter_name}", language="en")
    CannedResponse.objects.create(
        title="Bedankt", body='Dank je {reporter_name} <b>"{__class__}"</b>', language="nl"
    )
    CannedResponse.objects.create(title="Old", body="retired text", language="nl", active=False)
    ticket = make_ticket()
    page = login("agent").get(detail_url(ticket)).text
    assert 'data-text="Dank je Anna &lt;b&gt;&quot;{__class__}&quot;&lt;/b&gt;"' in page
    assert 'data-text="Thank you Anna"' in page
    assert "retired text" not in page
    # the reporter's language first
    assert page.index("Bedankt (NL)") < page.index("Thanks (EN)")
    customer_page = login("acme.user").get(detail_url(ticket)).text
    assert "data-canned" not in customer_page and "Dank je" not in customer_page


def test_canned_responses_cost_one_query_whatever_their_number(login, make_ticket):
    ticket = make_ticket()
    client = login("agent")

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(detail_url(ticket)).status_code == 200
        return len(ctx.captured_queries)

    CannedResponse.objects.create(title="One", body="one", language="nl")
    client.get(detail_url(ticket))  # warm the per-request caches (terms, calendars)
    one = queries()
    for i in range(20):
        CannedResponse.objects.create(title=f"T{i}", body=f"text {i}", language="en")
    assert queries() == one


def test_canned_responses_are_managed_in_the_admin(client, users):
    client.force_login(users["admin"])
    users["admin"].is_staff = users["admin"].is_superuser = True
    users["admin"].save()
    response = client.post(
        reverse("admin:tickets_cannedresponse_add"),
        {"title": "Greeting", "body": "Hello {reporter_name}", "language": "en", "active": "on"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert CannedResponse.objects.get().title == "Greeting"


# --- also working on this --------------------------------------------------------------------


def test_second_agent_sees_the_first(login, make_ticket, users):
    ticket = make_ticket()
    login("agent").get(detail_url(ticket))  # opening the page counts as present
    second = login("oncall", Client())
    page = second.get(detail_url(ticket)).text
    assert 'id="ticket-presence"' in page
    notice = page.split('id="ticket-presence"')[1].split("</div>")[0]
    assert "Also working on this:" in notice and "agent" in notice
    assert "writing a reply" not in notice
    # the agent's own page names oncall, never the agent themselves
    response = login("agent").post(presence_url(ticket))
    assert response.status_code == 200
    assert "oncall" in response.text and "agent," not in response.text


def test_typing_is_louder_and_everything_expires(login, make_ticket, users):
    ticket = make_ticket()
    start = timezone.now()
    with freeze_time(start) as clock:
        agent = login("agent")
        assert agent.post(presence_url(ticket), {"typing": "1"}).status_code == 200
        second = login("oncall", Client())
        response = second.post(presence_url(ticket))
        assert "is-typing" in response.text and "writing a reply" in response.text
        clock.tick(timedelta(seconds=25))  # no key press for a while: present, not typing
        response = second.post(presence_url(ticket))
        assert "Also working on this:" in response.text and "is-typing" not in response.text
        clock.tick(timedelta(seconds=25))  # 50 s without a heartbeat: gone
        response = second.post(presence_url(ticket))
        assert "Also working on this" not in response.text


@pytest.mark.parametrize("username", ["acme.user", "acme.contact"])
def test_presence_is_staff_only(login, make_ticket, username):
    ticket = make_ticket()
    response = login(username).post(presence_url(ticket))
    assert response.status_code == 403
    assert 'id="ticket-presence"' not in login(username).get(detail_url(ticket)).text


@pytest.mark.parametrize("username", ["globex.user", "globex.contact"])
def test_presence_of_another_organisation_is_a_404(login, make_ticket, username):
    ticket = make_ticket()
    assert login(username).post(presence_url(ticket)).status_code == 404


def test_presence_needs_post_login_and_csrf(make_ticket, users):
    ticket = make_ticket()
    anonymous = Client()
    assert anonymous.post(presence_url(ticket)).status_code == 302  # to the login page
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(users["agent"])
    assert staff.get(presence_url(ticket)).status_code == 405
    assert staff.post(presence_url(ticket)).status_code == 403  # no CSRF token
    page = staff.get(detail_url(ticket)).text
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    response = staff.post(presence_url(ticket), headers={"X-CSRFToken": token})
    assert response.status_code == 200


# --- timeline order, shortcuts --------------------------------------------------------------


def test_timeline_newest_first_with_a_remembered_toggle(login, make_ticket, users):
    ticket = make_ticket()
    services.add_update(ticket, users["agent"], "FIRST-UPDATE")
    services.add_update(ticket, users["agent"], "SECOND-UPDATE")
    client = login("agent")
    page = client.get(detail_url(ticket)).text
    assert page.index("SECOND-UPDATE") < page.index("FIRST-UPDATE")
    page = client.get(detail_url(ticket, "?order=oldest")).text
    assert page.index("FIRST-UPDATE") < page.index("SECOND-UPDATE")
    page = client.get(detail_url(ticket)).text  # remembered
    assert page.index("FIRST-UPDATE") < page.index("SECOND-UPDATE")
    page = client.get(detail_url(ticket, "?order=bogus")).text  # ignored
    assert page.index("FIRST-UPDATE") < page.index("SECOND-UPDATE")
    page = client.get(detail_url(ticket, "?order=newest")).text
    assert page.index("SECOND-UPDATE") < page.index("FIRST-UPDATE")
    # the audit trail stays folded
    assert re.search(r"<details>\s*<summary>Audit trail", page)


def test_shortcut_help_and_reply_key(login, make_ticket):
    ticket = make_ticket()
    page = login("agent").get(detail_url(ticket)).text
    assert '<dialog id="shortcut-help"' in page and "js/shortcuts.js" in page
    assert re.search(r'<textarea[^>]*data-shortcut="r"[^>]*name="body"', page) or re.search(
        r'<textarea[^>]*name="body"[^>]*data-shortcut="r"', page
    )


# --- unique ids and labels ------------------------------------------------------------------


class IdParser(HTMLParser):
    """Ids, labels and controls of a page; a control is hidden when it is type=hidden or sits
    in an element with the `hidden` attribute."""

    VOID = {"input", "br", "img", "meta", "link", "hr", "source", "wbr", "area", "col"}

    def __init__(self):
        super().__init__()
        self.ids, self.labels, self.controls = [], [], {}
        self.stack = []  # (tag, hidden)

    def hidden_now(self):
        return any(hidden for _tag, hidden in self.stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        hidden = self.hidden_now() or "hidden" in a
        if tag == "label" and a.get("for"):
            self.labels.append((a["for"], hidden))
        if tag in ("input", "select", "textarea") and "id" in a:
            self.controls[a["id"]] = hidden or a.get("type") == "hidden"
        if tag not in self.VOID:
            self.stack.append((tag, "hidden" in a))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break


def id_problems(html):
    parser = IdParser()
    parser.feed(html)
    problems = [f"id {i!r} ×{n}" for i, n in Counter(parser.ids).items() if n > 1]
    for target, label_hidden in parser.labels:
        if target not in parser.controls:
            problems.append(f"label for={target!r} points at no control")
        elif parser.controls[target] and not label_hidden:
            problems.append(f"label for={target!r} points at a hidden control")
    return problems


def test_every_id_is_unique_and_every_label_points_at_a_visible_control(login, make_ticket, users):
    CannedResponse.objects.create(title="Hi", body="Hi {reporter_name}", language="nl")
    new = make_ticket()
    taken = make_ticket()
    services.take(taken, users["agent"])
    resolved = make_ticket()
    services.take(resolved, users["agent"])
    services.transition(
        resolved,
        users["agent"],
        Status.RESOLVED,
        resolution={
            "resolution_type": "definitive",
            "resolution_cause": "a",
            "resolution_how": "b",
        },  # noqa: E501
    )
    pages = {}
    for username in ("agent", "csm", "acme.user", "acme.contact"):
        client = login(username)
        for ticket in (new, taken, resolved):
            pages[f"{username} {ticket.status}"] = client.get(detail_url(ticket)).text
    # a page shown again with errors (the composer and the transition form bound)
    agent = login("agent")
    pages["composer errors"] = agent.post(
        update_url(taken), {"body": "", "visibility": "public"}
    ).text
    pages["transition errors"] = agent.post(
        reverse("ticket-transition", args=[taken.number]), {"status": "planned_external"}
    ).text
    problems = {name: id_problems(html) for name, html in pages.items()}
    assert {name: p for name, p in problems.items() if p} == {}
    # the forms the issue named really are on these pages, with their own ids
    assert 'id="id_resolve_note"' in pages["agent planned_internal"]
    assert 'id="id_transition_note"' in pages["agent planned_internal"]
    assert 'id="id_no_access_note"' in pages["agent planned_internal"]
    assert 'id="id_priority_reason"' in pages["agent planned_internal"]
    assert 'id="id_sla_na_reason"' in pages["agent planned_internal"]


def test_the_id_check_finds_duplicates_and_hidden_targets():
    """The checker above is not vacuous."""
    assert id_problems('<input id="a"><input id="a">') == ["id 'a' ×2"]
    assert id_problems('<label for="b">B</label><input type="hidden" id="b">')
    assert id_problems('<label for="c">C</label><div hidden><textarea id="c"></textarea></div>')
    assert id_problems('<label for="d">D</label>')
    assert not id_problems('<div hidden><label for="e">E</label><select id="e"></select></div>')


def test_a_body_too_large_to_read_comes_back_beside_the_composers_file_field(login, make_ticket):
    """The request limit refuses the composer's POST unread (pim.middleware): back on the
    ticket page, the message on the composer's own file field."""
    ticket = make_ticket()
    client = login("agent")
    response = client.generic(
        "POST",
        update_url(ticket),
        data=b"--x--",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(25 * 1024 * 1024),
    )
    assert response.status_code == 303
    assert response["Location"].startswith(detail_url(ticket))
    page = client.get(response["Location"])
    composer = page.text.split('id="composer"')[1].split("</form>")[0]
    files = composer[composer.index('class="pim-file-input"') :]
    assert "The upload is too large (25" in files
    assert 'aria-invalid="true"' in files and "autofocus" in files
    assert page.context["update_form"].errors["files"]
    assert not TicketUpdate.objects.exists()
