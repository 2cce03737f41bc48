"""The text and the files of one RFC 5322 message.

Text parts are decoded whatever charset the sender's client declared (broken text gets
replacement characters); HTML is turned into plain text here and never kept for display;
attachments get plain, safe file names. Broken parts are skipped: nothing here raises on input.
"""

import codecs
import mimetypes
import re
from dataclasses import dataclass
from email import policy
from html import unescape
from html.parser import HTMLParser
from pathlib import PurePath

# Charsets that senders declare but mean windows-1252 (as browsers do, WHATWG Encoding).
# Keys are Python codec names (codecs.lookup(label).name).
CHARSET_ALIASES = {"iso8859-1": "cp1252", "ascii": "utf-8"}


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


# --- text -----------------------------------------------------------------------------------


def decode_bytes(data: bytes | None, charset: str | None = None) -> str:
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


def normalize_text(text: str) -> str:
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


def html_to_text(html: str) -> str:
    parser = _HTMLToText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - a broken document still has text; fall back to tags out
        return normalize_text(unescape(re.sub(r"<[^>]*>", " ", html)))
    return normalize_text(parser.text())


# --- parts and attachments ------------------------------------------------------------------


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


def safe_filename(name: str | None, content_type: str, index: int) -> str:
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


def body_and_attachments(msg) -> tuple[str, bool, list[ParsedAttachment]]:
    """(text, whether it came from HTML, attachments): the text/plain parts joined, else the
    HTML parts as text; every other leaf (an attached message too) is an attachment."""
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


# --- replies --------------------------------------------------------------------------------


_QUOTE_HEADER = re.compile(
    r"^(On .{3,200} wrote:|Op .{3,200} (schreef|heeft) .{0,80}:|-{2,}\s*(Original Message|"
    r"Oorspronkelijk bericht|Forwarded message|Doorgestuurd bericht)\s*-{2,})\s*$",
    re.IGNORECASE,
)


def strip_quoted_reply(text: str) -> str:
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
