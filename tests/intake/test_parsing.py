"""intake.parsing (and its intake.headers and intake.body) on the real message files and on
header variants."""

import pytest

from intake.body import decode_bytes, html_to_text, safe_filename, strip_quoted_reply
from intake.parsing import parse_message

OWN = {"servicedesk@pim.local"}


def simple(headers="", body="Hello", from_="Piet <piet@example.com>", ctype="text/plain"):
    raw = (
        f"From: {from_}\r\nTo: servicedesk@pim.local\r\nSubject: Test\r\n"
        f"Message-ID: <t1@example.com>\r\n{headers}"
        f"MIME-Version: 1.0\r\nContent-Type: {ctype}; charset=utf-8\r\n\r\n{body}\r\n"
    )
    return parse_message(raw.encode(), own_addresses=OWN)


def test_multipart_with_pdf_and_png(eml):
    parsed = parse_message(eml("multipart_attachments.eml"))
    assert parsed.from_address == "Acme.User@Example.com"
    assert parsed.from_name == "Anna de Vries"
    assert parsed.subject == "Printer on floor 3 shows error E-42"
    assert parsed.message_id == "3f9a2c1e-7b44-4d0e-9b1a-acme-printer@example.com"
    assert parsed.date.isoformat() == "2026-03-02T09:14:01+01:00"
    assert parsed.body.startswith("Hello service desk,")
    assert "<p>" not in parsed.body  # the text/plain alternative, not the HTML one
    assert not parsed.is_automatic
    files = {a.filename: a for a in parsed.attachments}
    assert set(files) == {"error-log.pdf", "display.png"}
    assert files["error-log.pdf"].content_type == "application/pdf"
    assert files["error-log.pdf"].data.startswith(b"%PDF-1.4")
    assert files["display.png"].content_type == "image/png"
    assert files["display.png"].data.startswith(b"\x89PNG\r\n\x1a\n")


def test_html_only_becomes_plain_text(eml):
    parsed = parse_message(eml("html_only.eml"))
    assert parsed.body_was_html
    body = parsed.body
    assert "Our VPN connection drops every 10" in body
    assert "& nobody in Utrecht can work <properly>." in body  # entities decoded, as text
    assert "Café wifi works fine." in body
    assert "- Client version 5.2" in body
    for gone in ("<p>", "<script", "alert", "color: red", "ignored title", "onerror", "<img"):
        assert gone not in body


def test_iso_8859_1_subject_sender_and_body(eml):
    parsed = parse_message(eml("latin1.eml"))
    assert parsed.subject == "Storing in het café"
    assert parsed.from_name == "Zoë Müller"
    assert "De kassa in het café werkt niet meer" in parsed.body
    assert "Coördinatie" in parsed.body
    assert parsed.body.endswith("Zoë Müller")


def test_windows_1252_bytes_declared_as_latin1_and_unknown_charsets():
    assert decode_bytes(b"\x80 5,00 \x96 caf\xe9", "iso-8859-1") == "€ 5,00 – café"
    assert decode_bytes("Zoë".encode(), "x-no-such-charset") == "Zoë"
    assert decode_bytes("Zoë".encode(), "us-ascii") == "Zoë"  # 8-bit text declared as ASCII
    assert decode_bytes(b"Zo\xeb", "utf-8") == "Zoë"  # wrong declaration, still readable


@pytest.mark.parametrize(
    "headers, from_",
    [
        ("Auto-Submitted: auto-replied\r\n", None),
        ("Auto-Submitted: auto-generated\r\n", None),
        ("Auto-Submitted: auto-notified; owner-email=x@example.com\r\n", None),
        ("Precedence: bulk\r\n", None),
        ("Precedence: junk\r\n", None),
        ("Precedence: list\r\n", None),
        ("Precedence: auto_reply\r\n", None),
        ("X-Autoreply: yes\r\n", None),
        ("X-Autorespond: Out of office\r\n", None),
        ("List-Id: <users.lists.example.com>\r\n", None),
        ("List-Unsubscribe: <mailto:leave@example.com>\r\n", None),
        ("Return-Path: <>\r\n", None),
        ("", "MAILER-DAEMON@mx.example.com"),
        ("", "postmaster@example.com"),
        ("", "noreply@example.com"),
        ("", "no-reply@example.com"),
        ("", "Do-Not-Reply@example.com"),
        ("", "PIM <servicedesk@pim.local>"),
    ],
)
def test_automatic_mail_is_recognised(headers, from_):
    parsed = simple(headers, from_=from_ or "Piet <piet@example.com>")
    assert parsed.is_automatic, (headers, from_)


@pytest.mark.parametrize(
    "headers",
    ["", "Auto-Submitted: no\r\n", "Precedence: normal\r\n", "Return-Path: <piet@example.com>\r\n"],
)
def test_a_persons_mail_is_not_automatic(headers):
    parsed = simple(headers)
    assert not parsed.is_automatic
    assert parsed.from_address == "piet@example.com"


def test_ticket_numbers_in_the_subject():
    raw = (
        b"From: a@example.com\r\nSubject: Re: AW: [inc-2026-00042] and CHG-2025-00001, "
        b"INC-2026-00042 again; not INC-26-1 or XINC-2026-00001\r\n\r\nx"
    )
    assert parse_message(raw).ticket_numbers() == ["INC-2026-00042", "CHG-2025-00001"]


def test_reply_ids():
    parsed = parse_message(
        b"From: a@example.com\r\nIn-Reply-To: <pim-1@pim.local>\r\n"
        b"References: <x@example.com> <pim-1@pim.local>\r\nMessage-ID:  <m@example.com> \r\n\r\nx"
    )
    assert parsed.in_reply_to == "pim-1@pim.local"
    assert parsed.references == ["x@example.com", "pim-1@pim.local"]
    assert parsed.message_id == "m@example.com"


def test_quoted_history_is_stripped_from_replies():
    text = "Works now.\n\nOn Wed, 4 Mar 2026 at 17:00, Desk <d@pim.local> wrote:\n> old\n> text"
    assert strip_quoted_reply(text) == "Works now."
    dutch = "Dank!\nOp 4 mrt. 2026 om 17:00 schreef Servicedesk <d@pim.local>:\n> oud"
    assert strip_quoted_reply(dutch) == "Dank!"
    assert strip_quoted_reply("> only a quote") == "> only a quote"  # nothing new: keep all


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage without headers",
        b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nbroken",
        b"From: =?utf-8?b?broken?= <a@example.com>\r\nSubject: =?x-bad?q?=ZZ?=\r\n\r\nbody",
        b'Content-Type: text/plain; charset=""\r\nFrom: a@\r\n\r\n\xff\xfe',
    ],
)
def test_bad_input_never_raises(raw):
    parse_message(raw)


def test_html_to_text_survives_broken_markup():
    text = html_to_text("<p>a<b>b</p><script>x()</script>&lt;c&gt;<div")
    assert text.startswith("ab\n<c>")  # an unfinished tag at the end stays as inert text
    assert "x()" not in text


def test_attachment_file_names_are_made_safe():
    assert safe_filename("../../etc/passwd", "text/plain", 1) == "passwd"
    assert safe_filename("C:\\Users\\x\\report.pdf", "application/pdf", 1) == "report.pdf"
    assert safe_filename("", "application/pdf", 2) == "attachment-2.pdf"
    assert safe_filename("a\x00b.txt", "text/plain", 1) == "ab.txt"
