"""Read one RFC 5322 message: who sent it, about what, its text, its files, and whether a
machine sent it (auto-replies, bounces, bulk and list mail must never become tickets).

Only the standard library's `email` package (with `policy.default`) parses; this module never
raises on bad input: broken parts are skipped and broken text is decoded with replacement
characters. HTML is turned into plain text here and never kept for display.
"""

import codecs
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import PurePath

TICKET_NUMBER_RE = re.compile(r"\b(INC|CHG|PRB|QST)-(\d{4})-(\d{5,})\b", re.IGNORECASE)

# Senders that are machines, whatever the headers say (compared on the local part).
MACHINE_LOCAL_PARTS = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|auto-?reply)([+._-].*)?$",
    re.IGNORECASE,
)
BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}

# Charsets that senders declare but mean windows-1252 (as browsers do, WHATWG Encoding).
# Keys are Python codec names (codecs.lookup(label).name).
CHARSET_ALIASES = {"iso8859-1": "cp1252", "ascii": "utf-8"}


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self):
        return len(self.data)


@dataclass
class ParsedMessage:
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    from_address: str = ""
    from_name: str = ""
    subject: str = ""
    date: datetime | None = None
    body: str = ""
    body_was_html: bool = False
    attachments: list[ParsedAttachment] = field(default_factory=list)
    auto_reason: str = ""  # why this message is automatic or bulk; empty for a person's mail
    has_headers: bool = False
    defects: list[str] = field(default_factory=list)

    @property
    def is_automatic(self):
        return bool(self.auto_reason)

    def ticket_numbers(self):
        """Every ticket number in the subject, in order, upper-cased, without repeats."""
        seen = []
        for match in TICKET_NUMBER_RE.finditer(self.subject or ""):
            number = f"{match.group(1).upper()}-{match.group(2)}-{match.group(3)}"
            if number not in seen:
                seen.append(number)
        return seen


# --- text helpers ---------------------------------------------------------------------------


def decode_bytes(data, charset=None):
    """Bytes to text in the declared charset; an unknown or wrong charset falls back to UTF-8
    and then windows-1252, so é, ë and € survive whatever the sender's client declared."""
    if data is None:
        return ""
    candidates = []
    if charset:
        label = charset.strip().strip('"').lower()
        try:
            name = codecs.lookup(label).name
        except LookupError:
            name = None
        if name:
            candidates.append(CHARSET_ALIASES.get(name, name))
    candidates += ["utf-8", "cp1252"]
    for candidate in candidates:
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")  # cannot fail: every byte is a character


def normalize_text(text):
    """Unix newlines, no trailing blanks, at most one empty line in a row, no NULs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [line.rstrip() for line in text.split("\n")]
    out = []
    for line in lines:
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out).strip()


class _HTMLToText(HTMLParser):
    """Visible text of an HTML body; scripts, styles and the head are dropped."""

    SKIP = {"script", "style", "head", "title", "template", "noscript"}
    BLOCK = {
        "p", "div", "br", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
        "blockquote", "pre", "hr", "ul", "ol", "section", "article", "header", "footer",
    }  # fmt: skip

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")
        if tag == "li" and not self.skipping:
            self.parts.append("- ")

    def handle_startendtag(self, tag, attrs):
        if tag in ("br", "hr"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(re.sub(r"[ \t\r\n\f\xa0]+", " ", data))

    def text(self):
        joined = "".join(self.parts)
        return "\n".join(line.strip() for line in joined.split("\n"))


def html_to_text(html):
    parser = _HTMLToText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - a broken document still has text; fall back to tags out
        return normalize_text(unescape(re.sub(r"<[^>]*>", " ", html)))
    return normalize_text(parser.text())


# --- headers --------------------------------------------------------------------------------


def _header(msg, name):
    """A header's value as text; a header the parser cannot read becomes ''."""
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - malformed headers must not stop the intake
        return ""
    if value is None:
        return ""
    return " ".join(str(value).split())


def _message_id(value):
    value = (value or "").strip()
    match = re.search(r"<([^<>\s]+)>", value)
    if match:
        value = match.group(1)
    value = value.split()[0] if value.split() else ""
    if len(value) > 250:
        value = "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return value


def _sender(msg):
    raw = _header(msg, "From")
    try:
        addresses = getaddresses([raw])
    except Exception:  # noqa: BLE001
        addresses = [parseaddr(raw)]
    for name, address in addresses:
        if "@" in address:
            return name.strip(), address.strip()
    return "", ""


def auto_reason(msg, from_address, own_addresses=()):
    """Why this message was sent by a machine (auto-reply, bounce, bulk, list), or ''."""
    auto_submitted = _header(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(msg, "Precedence").lower()
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply"):
        if msg.get(name) is not None:
            return f"{name} header"
    for name in ("List-Id", "List-Unsubscribe", "List-Post"):
        if msg.get(name) is not None:
            return f"{name} header (mailing list)"
    if msg.get("Return-Path") is not None and _header(msg, "Return-Path") in ("<>", ""):
        return "empty Return-Path (bounce)"
    if msg.get_content_type() == "multipart/report":
        return "delivery or read report (multipart/report)"
    local = from_address.rsplit("@", 1)[0] if "@" in from_address else from_address
    if local and MACHINE_LOCAL_PARTS.match(local):
        return f"machine sender {from_address}"
    if from_address and from_address.lower() in {a.lower() for a in own_addresses}:
        return "sent by the service desk address itself (loop)"
    return ""


# --- body and attachments -------------------------------------------------------------------


def _part_text(part):
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        payload = None
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    return decode_bytes(payload, part.get_content_charset())


def _leaves(msg):
    """The leaf parts in order; an attached message (message/rfc822) counts as one leaf."""
    if msg.get_content_maintype() == "multipart":
        payload = msg.get_payload()
        if isinstance(payload, list):
            for sub in payload:
                yield from _leaves(sub)
        return
    yield msg


def _attachment_bytes(part):
    if part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if inner is not None:
            try:
                return inner.as_bytes(policy=policy.SMTP)
            except Exception:  # noqa: BLE001
                return None
        return None
    try:
        return part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        return None


def safe_filename(name, content_type, index):
    """A plain file name: no directories, no control characters, an extension if we can."""
    name = (name or "").replace("\\", "/")
    name = PurePath(name).name if name else ""
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().strip(".")
    if not name:
        if content_type == "message/rfc822":
            ext = ".eml"
        else:
            ext = mimetypes.guess_extension(content_type or "") or ".bin"
        name = f"attachment-{index}{ext}"
    return name[:200]


def _body_and_attachments(msg):
    body_part = None
    try:
        body_part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001
        body_part = None
    text_parts, html_parts, attachments = [], [], []
    index = 0
    for part in _leaves(msg):
        ctype = part.get_content_type()
        try:
            filename = part.get_filename()
        except Exception:  # noqa: BLE001
            filename = None
        disposition = (part.get_content_disposition() or "").lower()
        is_body_candidate = (
            part is body_part
            or (
                ctype in ("text/plain", "text/html")
                and not filename
                and disposition != "attachment"
            )
        ) and ctype != "message/rfc822"
        if is_body_candidate:
            (html_parts if ctype == "text/html" else text_parts).append(part)
            continue
        data = _attachment_bytes(part)
        if data is None:
            continue
        index += 1
        attachments.append(
            ParsedAttachment(
                filename=safe_filename(filename, ctype, index),
                content_type=ctype if ctype else "application/octet-stream",
                data=data,
            )
        )
    body = normalize_text("\n\n".join(_part_text(p) for p in text_parts))
    was_html = False
    if not body and html_parts:
        was_html = True
        body = "\n\n".join(html_to_text(_part_text(p)) for p in html_parts)
    return normalize_text(body), was_html, attachments


def _date(msg):
    value = _header(msg, "Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return None
    return parsed


def parse_headers_only(raw):
    """The headers of a message too large to read whole."""
    try:
        msg = BytesHeaderParser(policy=policy.default).parsebytes(raw[: 256 * 1024])
    except Exception:  # noqa: BLE001
        return ParsedMessage()
    name, address = _sender(msg)
    return ParsedMessage(
        message_id=_message_id(_header(msg, "Message-ID")),
        from_address=address,
        from_name=name,
        subject=_header(msg, "Subject"),
        date=_date(msg),
        has_headers=bool(msg.keys()),
    )


def parse_message(raw, own_addresses=()):
    """Parse the bytes of one message; never raises."""
    try:
        msg = BytesParser(_class=EmailMessage, policy=policy.default).parsebytes(raw)
    except Exception as exc:  # noqa: BLE001
        return ParsedMessage(defects=[repr(exc)])
    result = ParsedMessage(has_headers=bool(msg.keys()))
    result.defects = [type(d).__name__ for d in getattr(msg, "defects", [])]
    result.message_id = _message_id(_header(msg, "Message-ID"))
    result.in_reply_to = _message_id(_header(msg, "In-Reply-To"))
    result.references = [
        _message_id(ref) for ref in re.findall(r"<[^<>\s]+>", _header(msg, "References"))
    ]
    result.from_name, result.from_address = _sender(msg)
    result.subject = _header(msg, "Subject")
    result.date = _date(msg)
    result.auto_reason = auto_reason(msg, result.from_address, own_addresses)
    try:
        result.body, result.body_was_html, result.attachments = _body_and_attachments(msg)
    except Exception as exc:  # noqa: BLE001 - keep what the headers told us
        result.defects.append(f"body: {exc!r}")
    return result


# --- replies --------------------------------------------------------------------------------

_QUOTE_HEADER = re.compile(
    r"^(On .{3,200} wrote:|Op .{3,200} (schreef|heeft) .{0,80}:|-{2,}\s*(Original Message|"
    r"Oorspronkelijk bericht|Forwarded message|Doorgestuurd bericht)\s*-{2,})\s*$",
    re.IGNORECASE,
)


def strip_quoted_reply(text):
    """The new part of a reply: everything above the quoted history ("On … wrote:", "> …").
    When nothing would remain, the whole text is kept."""
    kept = []
    for line in text.split("\n"):
        if _QUOTE_HEADER.match(line.strip()):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    stripped = normalize_text("\n".join(kept))
    return stripped or text
