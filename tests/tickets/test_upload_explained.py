"""Uploads that explain themselves (issue 15, build item 4): the limits beside the file field, a
refused or oversized file as an error beside that field on the ticket page (also when the body is
refused before it is read), the content checked against the extension, image previews."""

import io
import re
import struct
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from intake import services as intake
from intake.models import InboundStatus
from tickets import services
from tickets.models import Attachment

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
HTML = b"<html><script>alert(document.cookie)</script></html>"
MB = 1024 * 1024


def png_bytes(width=2, height=2):
    """A real PNG (grey pixels), built from its chunks."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PNG = png_bytes()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024  # an OLE2 compound file header


def docx_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def stored_files():
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def ticket(make_ticket):
    return make_ticket("acme.user")


@pytest.fixture
def customer(users):
    client = Client()
    client.force_login(users["acme.user"])
    return client


def detail_url(ticket):
    return reverse("ticket-detail", kwargs={"number": ticket.number})


def attach_url(ticket):
    return reverse("ticket-attach", kwargs={"number": ticket.number})


def file_field_html(html):
    """The attachment form's file field block (label, input, limits, errors)."""
    attach = html[html.index('id="ticket-attach"') :]
    return attach[attach.index('class="pim-file-input"') : attach.index("</form>")]


# --- the limits beside the field --------------------------------------------------------------


def test_the_file_field_states_the_size_limit_and_the_allowed_types(customer, ticket, settings):
    field = file_field_html(customer.get(detail_url(ticket)).text)
    assert "At most 20\xa0MB per file. Allowed: pdf, png, jpg, jpeg, gif, webp, txt," in field
    # The input points at the sentence and hints the browser's file picker.
    limits_id = re.search(r'<small id="([^"]+)">At most', field).group(1)
    assert f'aria-describedby="{limits_id}"' in field
    assert 'accept=".pdf,.png,.jpg,' in field

    settings.ATTACHMENT_MAX_BYTES = 5 * MB + MB // 2
    settings.ATTACHMENT_ALLOWED_EXTENSIONS = ["pdf", "txt"]
    field = file_field_html(customer.get(detail_url(ticket)).text)
    assert "At most 5.5\xa0MB per file. Allowed: pdf, txt." in field


def test_the_limits_are_dutch_for_a_dutch_reader(users, ticket):
    users["acme.user"].language = "nl"
    users["acme.user"].save()
    client = Client()
    client.force_login(users["acme.user"])
    field = file_field_html(client.get(detail_url(ticket)).text)
    assert "Maximaal 20\xa0MB per bestand. Toegestaan: pdf, png," in field


# --- refused files: back on the ticket page, the error beside the field -----------------------


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("setup.exe", b"MZ\x90\x00", "Files of type “exe” are not allowed"),
        ("invoice.pdf", b"MZ\x90\x00\x03" + b"\x00" * 64, "This file is a program"),
        ("photo.png", PDF, "This file is not a “.png” file but a “.pdf” file."),
        ("notes.txt", PNG, "A “.txt” file must be text, but this file is a “.png” file."),
    ],
)
def test_a_refused_file_is_an_error_beside_the_field_on_the_ticket_page(
    customer, ticket, name, content, error
):
    response = customer.post(attach_url(ticket), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 303
    assert response["Location"] == detail_url(ticket) + "#ticket-attach"

    page = customer.get(response["Location"])
    assert page.status_code == 200
    field = file_field_html(page.text)
    assert error in field  # beside the field, not somewhere at the top
    assert "autofocus" in field and 'aria-invalid="true"' in field
    assert not Attachment.objects.exists()
    assert stored_files() == []

    # Shown once: the next visit has a clean form.
    assert error not in customer.get(detail_url(ticket)).text


def test_a_refusal_is_only_shown_on_its_own_ticket(customer, ticket, make_ticket):
    other = make_ticket("acme.user")
    customer.post(attach_url(ticket), {"file": SimpleUploadedFile("x.exe", b"MZ")})
    assert "not allowed" not in customer.get(detail_url(other)).text
    assert "not allowed" in customer.get(detail_url(ticket)).text


def test_an_oversized_file_within_the_request_limit_is_a_form_error(customer, ticket, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    response = customer.post(
        attach_url(ticket),
        {"file": SimpleUploadedFile("big.pdf", PDF.ljust(3000, b" "))},
        follow=True,
    )
    assert response.redirect_chain == [(detail_url(ticket) + "#ticket-attach", 303)]
    field = file_field_html(response.text)
    assert "The file is too large (2.9\xa0KB); the limit is 1\xa0KB." in field
    assert not Attachment.objects.exists()


# --- bodies refused before they are read ------------------------------------------------------


def unread_upload(client, path, length, **extra):
    """A multipart POST announcing `length` bytes but carrying almost none: anything that read the
    body would fail (the test client's payload refuses to read past its end)."""
    return client.generic(
        "POST",
        path,
        data=b"--x--",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(length),
        **extra,
    )


def test_a_25_mb_upload_goes_back_to_the_ticket_with_the_real_limit(customer, ticket):
    response = unread_upload(customer, attach_url(ticket), 25 * MB)
    assert response.status_code == 303
    assert response["Location"] == detail_url(ticket) + "#ticket-attach"
    page = customer.get(response["Location"])
    assert page.status_code == 200
    field = file_field_html(page.text)
    assert "The upload is too large (25\xa0MB); a file may be at most 20\xa0MB." in field
    assert "21" not in field  # the request limit (upload plus margin) is not the user's business
    assert not Attachment.objects.exists()


def test_htmx_is_sent_to_the_ticket_page(customer, ticket):
    response = unread_upload(customer, attach_url(ticket), 25 * MB, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == detail_url(ticket) + "#ticket-attach"


def test_a_too_large_upload_elsewhere_is_the_portal_page_with_a_way_back(customer, ticket):
    came_from = "http://testserver" + reverse("ticket-list")
    response = unread_upload(customer, "/tickets/new/", 25 * MB, HTTP_REFERER=came_from)
    assert response.status_code == 413
    html = response.text
    assert '<nav class="pim-nav"' in html or "<header" in html  # the portal's layout
    assert "The upload is too large (25\xa0MB); a file may be at most 20\xa0MB." in html
    assert f'href="{came_from}"' in html

    # A foreign Referer is no way back: the link goes home instead.
    response = unread_upload(
        customer, "/tickets/new/", 25 * MB, HTTP_REFERER="https://evil.example/phish"
    )
    assert response.status_code == 413
    assert "evil.example" not in response.text
    assert f'href="{reverse("home")}" role="button"' in response.text


def test_the_api_keeps_a_json_413_with_the_real_limit(users, ticket):
    client = Client()
    client.force_login(users["acme.user"])
    response = unread_upload(client, f"/api/v1/tickets/{ticket.pk}/attachments/", 25 * MB)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"] == (
        "The upload is too large (25\xa0MB); a file may be at most 20\xa0MB."
    )


# --- the content is what the extension says ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("screen.png", PNG),
        ("photo.jpg", JPEG),
        ("photo.JPEG", JPEG),
        ("report.pdf", PDF),
        ("letter.docx", docx_bytes()),
        ("letter.docx", b"PK\x03\x04" + b"\x00" * 64),  # a zip filetype cannot name further
        ("bundle.zip", docx_bytes()),
        ("mail.msg", CFB),
        ("sheet.xls", CFB),
        ("notes.txt", "Storing na update, zie log — ëïö\n".encode()),
        ("notes.txt", "Storing, zie ëïö\r\n".encode("cp1252")),
        ("export.csv", "\ufeffa;b\r\n1;2\r\n".encode("utf-16")),
        ("tags.txt", b"ID3 tags are read wrongly"),  # text that starts like an MP3
        ("build.log", b"\x1b[31mERROR\x1b[0m build failed\n"),  # coloured log output
        ("empty.txt", b""),
    ],
)
def test_content_that_fits_its_extension_is_accepted(ticket, users, name, content):
    upload = SimpleUploadedFile(name, content)
    attachment = services.add_attachment(ticket, users["acme.user"], upload)
    with attachment.file.open("rb") as fh:
        assert fh.read() == content


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("photo.png", PDF, "This file is not a “.png” file but a “.pdf” file."),
        ("report.pdf", PNG, "This file is not a “.pdf” file but a “.png” file."),
        (
            "report.pdf",
            b"just some words",
            "This file is not a “.pdf” file, whatever its name says.",
        ),
        ("photo.jpg", PNG, "This file is not a “.jpg” file but a “.png” file."),
        ("letter.docx", PDF, "This file is not a “.docx” file but a “.pdf” file."),
        ("letter.doc", b"plain words", "This file is not a “.doc” file, whatever its name says."),
        ("notes.txt", bytes(range(256)), "A “.txt” file must be text, but this file holds binary"),
        ("data.csv", PDF + b"\x00\x01", "A “.csv” file must be text, but this file is a “.pdf”"),
        ("mail.eml", docx_bytes(), "A “.eml” file must be text, but this file is a “.docx”"),
        ("odd.txt", "\ufeffodd".encode("utf-16")[:-1], "A “.txt” file must be text"),
    ],
)
def test_content_that_does_not_fit_its_extension_is_refused(ticket, users, name, content, message):
    with pytest.raises(ValidationError) as refused:
        services.add_attachment(ticket, users["acme.user"], SimpleUploadedFile(name, content))
    assert message in refused.value.message_dict["file"][0]
    assert not Attachment.objects.exists()
    assert stored_files() == []


def test_the_api_refuses_a_pdf_named_png(api, users, ticket):
    response = api(users["acme.user"]).post(
        f"/api/v1/tickets/{ticket.pk}/attachments/",
        {"file": SimpleUploadedFile("photo.png", PDF, "image/png")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["file"] == ["This file is not a “.png” file but a “.pdf” file."]
    assert not Attachment.objects.exists()


def test_email_intake_keeps_the_real_png_and_names_the_pdf_named_png(users):
    mail = EmailMessage()
    mail["From"] = "acme.user@example.com"
    mail["To"] = "servicedesk@example.com"
    mail["Subject"] = "Screenshots of the error"
    mail["Message-ID"] = "<sniff-1@example.com>"
    mail.set_content("See the screenshots.")
    mail.add_attachment(PNG, maintype="image", subtype="png", filename="real.png")
    mail.add_attachment(PDF, maintype="image", subtype="png", filename="fake.png")
    message = intake.ingest(mail.as_bytes())
    assert message.status == InboundStatus.PROCESSED, message.reason
    ticket = message.ticket
    assert [a.original_name for a in ticket.attachments.all()] == ["real.png"]
    assert "fake.png" in ticket.description and "but a “.pdf” file" in ticket.description


# --- image previews -----------------------------------------------------------------------------


def fetch(user, attachment, preview=True):
    client = Client()
    client.force_login(user)
    url = reverse("attachment-download", args=[attachment.pk]) + ("?preview=1" if preview else "")
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def stored(ticket, user, name, content, internal=False):
    """An attachment stored without the upload checks (as before content sniffing existed)."""
    attachment = Attachment(
        ticket=ticket, uploaded_by=user, original_name=name, size=len(content), internal=internal
    )
    attachment.file.save(name, ContentFile(content), save=False)
    attachment.save()
    return attachment


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [("screen.png", PNG, "image/png"), ("photo.jpeg", JPEG, "image/jpeg")],
)
def test_an_image_preview_is_served_inline(ticket, users, name, content, content_type):
    image = services.add_attachment(ticket, users["acme.user"], SimpleUploadedFile(name, content))
    response, body = fetch(users["acme.contact"], image)
    assert response.status_code == 200 and body == content
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]

    # Without ?preview it stays a download.
    response, _body = fetch(users["acme.contact"], image, preview=False)
    assert response["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("report.pdf", PDF),
        ("page.html", HTML),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("old.png", HTML),  # stored before sniffing: the name says image, the bytes do not
        ("old.gif", PNG),
    ],
)
def test_anything_else_is_never_inline(ticket, users, name, content):
    attachment = stored(ticket, users["acme.user"], name, content)
    response, body = fetch(users["acme.user"], attachment)
    assert response.status_code == 200 and body == content
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_preview_keeps_the_scope(ticket, users):
    image = services.add_attachment(ticket, users["acme.user"], SimpleUploadedFile("a.png", PNG))
    internal = services.add_attachment(
        ticket, users["agent"], SimpleUploadedFile("b.png", PNG), internal=True
    )
    for username in ("globex.user", "globex.contact", "acme.user2"):
        response, body = fetch(users[username], image)
        assert response.status_code == 404 and PNG not in body
    for username in ("acme.user", "acme.contact"):
        response, body = fetch(users[username], internal)
        assert response.status_code == 404 and PNG not in body
    response, body = fetch(users["agent"], internal)
    assert response.status_code == 200 and body == PNG
    anonymous = Client().get(reverse("attachment-download", args=[image.pk]) + "?preview=1")
    assert anonymous.status_code == 302


def test_the_ticket_page_shows_thumbnails_for_images_only(customer, ticket, users):
    image = services.add_attachment(ticket, users["acme.user"], SimpleUploadedFile("s.png", PNG))
    pdf = services.add_attachment(ticket, users["acme.user"], SimpleUploadedFile("r.pdf", PDF))
    html = customer.get(detail_url(ticket)).text
    download = reverse("attachment-download", args=[image.pk])
    assert f'<img src="{download}?preview=1" alt="" loading="lazy" class="pim-thumb">' in html
    assert reverse("attachment-download", args=[pdf.pk]) + "?preview=1" not in html
