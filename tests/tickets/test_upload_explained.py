"""Uploads that explain themselves (issue 15, build item 4): the limits beside the file field, a
refused or oversized file as an error beside that field on the ticket page (also when the body is
refused before it is read), the content checked against the extension, image previews (real
thumbnails, made once, of untrusted bytes)."""

import io
import re
import struct
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import ExifTags, Image, PngImagePlugin

from intake import services as intake
from intake.models import InboundStatus
from pim import thumbnails
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


def picture(fmt="JPEG", size=(400, 300), noise=False, orientation=None, **save):
    """A real image made by Pillow: left half red, right half blue (or noise, which compresses
    badly: a big original)."""
    if noise:
        image = Image.effect_noise(size, 80).convert("RGB")
    else:
        image = Image.new("RGB", size, "blue")
        image.paste("red", (0, 0, size[0] // 2, size[1]))
    if orientation:
        exif = Image.Exif()
        exif[ExifTags.Base.Orientation] = orientation
        save["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def opened(body):
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


def png_claiming(width, height):
    """A PNG whose header claims width × height pixels, with a few bytes of data behind it."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def decodes(monkeypatch):
    """How often an image was decoded for a thumbnail."""
    calls = []
    render = thumbnails.render

    def counted(fileobj, kind):
        calls.append(kind)
        return render(fileobj, kind)

    monkeypatch.setattr(thumbnails, "render", counted)
    return calls


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("screen.png", PNG),
        ("photo.jpeg", picture()),
        ("photo.jpg", picture(size=(30, 20))),
        ("anim.gif", picture("GIF", transparency=0)),
        ("sticker.webp", picture("WEBP")),
    ],
)
def test_an_image_preview_is_a_thumbnail_served_inline(ticket, users, name, content):
    image = services.add_attachment(ticket, users["acme.user"], SimpleUploadedFile(name, content))
    response, body = fetch(users["acme.contact"], image)
    assert response.status_code == 200 and body != content
    assert response["Content-Type"] == Image.MIME[opened(body).format]
    assert response["Content-Disposition"].startswith("inline")
    assert response["Cache-Control"] == "private, max-age=3600"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]

    # Without ?preview it stays a download of the original.
    response, body = fetch(users["acme.contact"], image, preview=False)
    assert response["Content-Disposition"].startswith("attachment") and body == content


def test_a_big_image_shrinks_within_the_bound_keeping_its_aspect(ticket, users):
    original = picture(size=(2400, 1800), noise=True, quality=95)
    assert len(original) > 2 * MB
    image = services.add_attachment(
        ticket, users["acme.user"], SimpleUploadedFile("site.jpg", original)
    )
    response, body = fetch(users["acme.user"], image)
    assert response.status_code == 200
    assert opened(body).size == (320, 240)  # within 320×320, still 4:3
    assert len(body) < len(original) / 20


def test_a_small_image_is_never_enlarged(ticket, users):
    for name, content, size in [("icon.png", picture("PNG", (100, 40)), (100, 40)),
                                ("dot.png", PNG, (2, 2))]:  # fmt: skip
        image = services.add_attachment(
            ticket, users["acme.user"], SimpleUploadedFile(name, content)
        )
        assert opened(fetch(users["acme.user"], image)[1]).size == size


@pytest.mark.parametrize("webp", [True, False])
def test_the_thumbnail_stands_as_the_camera_says_and_keeps_no_metadata(
    ticket, users, monkeypatch, webp
):
    monkeypatch.setattr(thumbnails, "WEBP", webp)  # else JPEG, or PNG when transparent
    # Stored 400×200 (red left, blue right); EXIF orientation 6: turn 90° clockwise to view.
    original = picture(size=(400, 200), orientation=6, icc_profile=b"\0" * 128)
    assert opened(original).getexif() and opened(original).info.get("icc_profile")
    image = services.add_attachment(
        ticket, users["acme.user"], SimpleUploadedFile("phone.jpg", original)
    )
    response, body = fetch(users["acme.user"], image)
    assert response["Content-Type"] == ("image/webp" if webp else "image/jpeg")
    thumb = opened(body).convert("RGB")
    assert thumb.size == (160, 320)
    red, blue = thumb.getpixel((80, 40)), thumb.getpixel((80, 280))
    assert red[0] > 200 > red[2] and blue[2] > 200 > blue[0]  # red on top, blue below
    assert not opened(body).getexif() and "icc_profile" not in opened(body).info

    # A transparent PNG with a profile and a text chunk: a PNG (or WebP) with neither.
    rgba = Image.new("RGBA", (60, 30), (255, 0, 0, 0))
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Jan Jansen, Kerkstraat 1")
    buffer = io.BytesIO()
    rgba.save(buffer, "PNG", icc_profile=b"\0" * 128, pnginfo=text)
    image = services.add_attachment(
        ticket, users["acme.user"], SimpleUploadedFile("clear.png", buffer.getvalue())
    )
    response, body = fetch(users["acme.user"], image)
    assert response["Content-Type"] == ("image/webp" if webp else "image/png")
    assert opened(body).mode == "RGBA" and opened(body).getpixel((0, 0))[3] == 0
    assert b"Jansen" not in body and "icc_profile" not in opened(body).info


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("report.pdf", PDF),
        ("page.html", HTML),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("old.png", HTML),  # stored before sniffing: the name says image, the bytes do not
        ("old.gif", PNG),
        ("broken.png", PNG[:40] + b"\x00" * 200),  # a PNG's header, then garbage
        ("cut.jpg", picture(size=(600, 400), noise=True)[:5000]),  # truncated
        ("empty.jpeg", JPEG),  # a JFIF header and no image
    ],
)
def test_anything_else_has_no_preview_and_stays_a_download(ticket, users, name, content):
    attachment = stored(ticket, users["acme.user"], name, content)
    response, body = fetch(users["acme.user"], attachment)
    assert response.status_code == 404 and content not in body
    response, body = fetch(users["acme.user"], attachment, preview=False)
    assert response.status_code == 200 and body == content
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_decompression_bomb_is_never_decoded(ticket, users, decodes, monkeypatch):
    # Beyond twice Image.MAX_IMAGE_PIXELS Pillow refuses by itself (it reads only the header).
    huge = stored(ticket, users["acme.user"], "huge.png", png_claiming(30_000, 30_000))
    assert fetch(users["acme.user"], huge)[0].status_code == 404
    # Between once and twice it only warns: the thumbnail refuses (a sound image, made small).
    warned = stored(ticket, users["acme.user"], "warned.png", picture("PNG", (120, 100)))
    with monkeypatch.context() as patch, pytest.warns(Image.DecompressionBombWarning):
        patch.setattr(Image, "MAX_IMAGE_PIXELS", 100 * 100)
        assert fetch(users["acme.user"], warned)[0].status_code == 404
    # Below that, more than MAX_PIXELS to decode is refused too.
    monkeypatch.setattr(thumbnails, "MAX_PIXELS", 100 * 100)
    image = stored(ticket, users["acme.user"], "wide.png", picture("PNG", (101, 100)))
    assert fetch(users["acme.user"], image)[0].status_code == 404
    # A JPEG decodes at a reduced scale: a 3200×2400 photo needs only 1600×1200 pixels.
    monkeypatch.setattr(thumbnails, "MAX_PIXELS", 1600 * 1200)
    photo = stored(ticket, users["acme.user"], "photo.jpg", picture(size=(3200, 2400)))
    assert fetch(users["acme.user"], photo)[0].status_code == 200
    assert len(decodes) == 4
    # A refusal is remembered too: asking again decodes nothing.
    assert [fetch(users["acme.user"], a)[0].status_code for a in (huge, warned)] == [404, 404]
    assert len(decodes) == 4


def test_the_second_view_does_not_decode_again(ticket, users, decodes, customer):
    images = [
        services.add_attachment(
            ticket, users["acme.user"], SimpleUploadedFile(f"{n}.jpg", picture(size=(640, 200)))
        )
        for n in range(3)
    ]
    first = [fetch(users["acme.user"], image)[1] for image in images]
    assert len(decodes) == 3
    again = [fetch(users["acme.contact"], image)[1] for image in images]
    assert again == first and len(decodes) == 3
    assert cache.get(thumbnails._key(images[0].pk, images[0].file.name))["width"] == 320

    # The ticket page now knows each thumbnail's size (one cache read, no file opened).
    html = customer.get(detail_url(ticket)).text
    assert html.count('class="pim-thumb" width="320" height="100">') == 3

    # Gone with its attachment (privacy erasure): the next request decodes again.
    thumbnails.forget(images[0].pk, images[0].file.name)
    fetch(users["acme.user"], images[0])
    assert len(decodes) == 4


def test_a_preview_keeps_the_scope(ticket, users):
    image = services.add_attachment(ticket, users["acme.user"], SimpleUploadedFile("a.png", PNG))
    internal = services.add_attachment(
        ticket, users["agent"], SimpleUploadedFile("b.png", PNG), internal=True
    )
    for user in (users["acme.user"], users["agent"]):  # both thumbnails made and cached
        fetch(user, image)
    assert fetch(users["agent"], internal)[0].status_code == 200
    for username in ("globex.user", "globex.contact", "acme.user2"):
        response, body = fetch(users[username], image)
        assert response.status_code == 404 and b"WEBP" not in body
    for username in ("acme.user", "acme.contact"):
        response, body = fetch(users[username], internal)
        assert response.status_code == 404 and b"WEBP" not in body
    response, body = fetch(users["agent"], internal)
    assert response.status_code == 200 and opened(body).size == (2, 2)
    anonymous = Client().get(reverse("attachment-download", args=[image.pk]) + "?preview=1")
    assert anonymous.status_code == 302


def test_the_ticket_page_shows_thumbnails_for_images_only(customer, ticket, users):
    image = services.add_attachment(ticket, users["acme.user"], SimpleUploadedFile("s.png", PNG))
    pdf = services.add_attachment(ticket, users["acme.user"], SimpleUploadedFile("r.pdf", PDF))
    html = customer.get(detail_url(ticket)).text
    download = reverse("attachment-download", args=[image.pk])
    # Before the thumbnail is made its size is unknown: no width and height yet.
    assert f'<img src="{download}?preview=1" alt="" loading="lazy" class="pim-thumb">' in html
    assert reverse("attachment-download", args=[pdf.pk]) + "?preview=1" not in html
