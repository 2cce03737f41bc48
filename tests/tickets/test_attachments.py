"""Attachments: upload (API and service), size and type limits, access-checked download."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tickets import services
from tickets.models import Attachment, AuditEntry, Status, Ticket

PDF = b"%PDF-1.4\n% a tiny test document\n"


def storage_root():
    return Path(settings.STORAGES["default"]["OPTIONS"]["location"])


def stored_files():
    root = storage_root()
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def upload_url(ticket):
    return f"/api/v1/tickets/{ticket.pk}/attachments/"


def download(user, attachment):
    client = Client()
    client.force_login(user)
    response = client.get(reverse("attachment-download", kwargs={"pk": attachment.pk}))
    # Reading the stream to the end closes the file (no response.close(): on PostgreSQL its
    # request_finished signal would close the connection holding the test's transaction).
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


@pytest.fixture
def ticket(make_ticket):
    return make_ticket("acme.user")


def test_storage_points_to_the_test_tmp_dir(tmp_path):
    assert storage_root() == tmp_path / "attachments"


def test_upload_via_api(api, users, ticket):
    response = api(users["acme.user"]).post(
        upload_url(ticket),
        {"file": SimpleUploadedFile("report.pdf", PDF, content_type="application/pdf")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["original_name"] == "report.pdf"
    assert data["size"] == len(PDF)
    assert data["internal"] is False
    assert data["uploaded_by"] == "acme.user"
    attachment = Attachment.objects.get(pk=data["id"])
    assert data["download_url"] == reverse("attachment-download", kwargs={"pk": attachment.pk})
    assert attachment.ticket == ticket
    # Stored under the storage root with a random name, not the uploaded one.
    (path,) = stored_files()
    assert path.read_bytes() == PDF
    assert path.name != "report.pdf"
    assert path.is_relative_to(storage_root())
    assert AuditEntry.objects.filter(ticket=ticket, action="attachment").exists()

    listing = api(users["acme.user"]).get(upload_url(ticket))
    assert [a["original_name"] for a in listing.json()["results"]] == ["report.pdf"]


def test_upload_via_service(users, ticket):
    upload = SimpleUploadedFile("log.txt", b"line 1\nline 2\n", content_type="text/plain")
    attachment = services.add_attachment(ticket, users["agent"], upload, internal=True)
    assert attachment.internal is True
    assert attachment.original_name == "log.txt"
    assert attachment.size == 14
    with attachment.file.open("rb") as fh:
        assert fh.read() == b"line 1\nline 2\n"
    assert len(stored_files()) == 1


def test_oversized_upload_is_413_and_nothing_is_stored(api, users, ticket, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    big = SimpleUploadedFile("big.pdf", b"x" * 2048, content_type="application/pdf")
    response = api(users["acme.user"]).post(upload_url(ticket), {"file": big}, format="multipart")
    assert response.status_code == 413, response.content
    message = " ".join(response.json()["file"])
    assert "too large" in message
    # The size and the limit in readable units (the decimal mark follows the language).
    assert re.search(r"\(2[.,]0\s?KB\).*limit is 1\s?KB", message), message
    assert not Attachment.objects.exists()
    assert stored_files() == []

    # One byte over is refused too; exactly at the limit is fine.
    over = SimpleUploadedFile("over.pdf", b"x" * 1025, content_type="application/pdf")
    response = api(users["acme.user"]).post(upload_url(ticket), {"file": over}, format="multipart")
    assert response.status_code == 413
    ok = SimpleUploadedFile("ok.pdf", PDF.ljust(1024, b"x"), content_type="application/pdf")
    response = api(users["acme.user"]).post(upload_url(ticket), {"file": ok}, format="multipart")
    assert response.status_code == 201


def test_oversized_upload_via_service_is_refused(users, ticket, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    big = SimpleUploadedFile("big.pdf", b"x" * 2048)
    with pytest.raises(ValidationError) as exc:
        services.add_attachment(ticket, users["agent"], big)
    assert "file" in exc.value.message_dict
    assert not Attachment.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize("name", ["setup.exe", "page.html", "logo.svg", "PAGE.HTM", "noext"])
def test_forbidden_types_are_refused(api, users, ticket, name):
    upload = SimpleUploadedFile(name, b"<svg onload=alert(1)>", content_type="text/html")
    response = api(users["acme.user"]).post(
        upload_url(ticket), {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert "not allowed" in " ".join(response.json()["file"])
    assert not Attachment.objects.exists()
    assert stored_files() == []


def test_missing_file_is_400(api, users, ticket):
    response = api(users["acme.user"]).post(upload_url(ticket), {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


def test_customer_cannot_upload_internal(api, users, ticket):
    upload = SimpleUploadedFile("a.pdf", PDF)
    response = api(users["acme.user"]).post(
        upload_url(ticket), {"file": upload, "internal": "true"}, format="multipart"
    )
    assert response.status_code == 403
    assert not Attachment.objects.exists()


def test_no_upload_to_a_closed_ticket(users, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)
    ticket.refresh_from_db()
    with pytest.raises(ValidationError):
        services.add_attachment(ticket, users["agent"], SimpleUploadedFile("a.pdf", PDF))


def test_upload_to_another_tenants_ticket(api, users, ticket):
    upload = SimpleUploadedFile("a.pdf", PDF)
    response = api(users["globex.user"]).post(
        upload_url(ticket), {"file": upload}, format="multipart"
    )
    assert response.status_code == 404
    with pytest.raises(PermissionDenied):
        services.add_attachment(ticket, users["globex.user"], SimpleUploadedFile("a.pdf", PDF))
    assert not Attachment.objects.exists()


# --- download -------------------------------------------------------------------------------


@pytest.fixture
def public_attachment(users, ticket):
    return services.add_attachment(
        ticket, users["acme.user"], SimpleUploadedFile("report.pdf", PDF, "application/pdf")
    )


@pytest.fixture
def internal_attachment(users, ticket):
    return services.add_attachment(
        ticket,
        users["agent"],
        SimpleUploadedFile("vendor-notes.txt", b"internal only", "text/plain"),
        internal=True,
    )


def test_owner_downloads_as_attachment(users, public_attachment):
    response, body = download(users["acme.user"], public_attachment)
    assert response.status_code == 200
    assert body == PDF
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "report.pdf" in disposition
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("role", ["acme.contact", "agent", "csm"])
def test_colleagues_and_staff_download(users, public_attachment, role):
    response, body = download(users[role], public_attachment)
    assert response.status_code == 200
    assert body == PDF


@pytest.mark.parametrize("role", ["globex.user", "globex.contact", "acme.user2"])
def test_customers_who_cannot_see_the_ticket_get_404(users, public_attachment, role):
    response, body = download(users[role], public_attachment)
    assert response.status_code == 404
    assert PDF not in body
    assert b"report.pdf" not in body
    assert "Content-Disposition" not in response


@pytest.mark.parametrize("role", ["acme.user", "acme.contact"])
def test_internal_attachment_is_404_for_customers(users, internal_attachment, role):
    response, body = download(users[role], internal_attachment)
    assert response.status_code == 404
    assert b"internal only" not in body


def test_internal_attachment_is_hidden_from_customer_listing(
    api, users, ticket, internal_attachment
):
    customer = api(users["acme.user"]).get(upload_url(ticket))
    assert customer.json()["results"] == []
    staff = api(users["agent"]).get(upload_url(ticket))
    assert [a["original_name"] for a in staff.json()["results"]] == ["vendor-notes.txt"]


@pytest.mark.parametrize("role", ["agent", "oncall", "admin"])
def test_internal_attachment_downloads_for_staff(users, internal_attachment, role):
    response, body = download(users[role], internal_attachment)
    assert response.status_code == 200
    assert body == b"internal only"
    assert response["Content-Disposition"].startswith("attachment")


def test_anonymous_download_redirects_to_login(public_attachment):
    url = reverse("attachment-download", kwargs={"pk": public_attachment.pk})
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "head",
    [b"MZ\x90\x00\x03", b"\x7fELF\x02\x01", b"\xcf\xfa\xed\xfe\x07"],
)
def test_a_program_renamed_to_an_allowed_type_is_refused(head, ticket, users):
    """The extension is allowed, the content is a program: refused with a clear message, nothing
    stored."""
    upload = SimpleUploadedFile("invoice.pdf", head + b"\x00" * 64, content_type="application/pdf")
    with pytest.raises(ValidationError) as refused:
        services.add_attachment(ticket, users["acme.user"], upload)
    assert "program" in str(refused.value)
    assert not ticket.attachments.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [("notes.txt", b"MZ-200 fails after the update."), ("countries.csv", b"MZ,Mozambique\n")],
)
def test_text_that_starts_with_mz_is_accepted(name, content, ticket, users):
    upload = SimpleUploadedFile(name, content, "text/plain")
    assert services.add_attachment(ticket, users["acme.user"], upload).size > 0
