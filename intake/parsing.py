"""Read one RFC 5322 message into a ParsedMessage: who sent it, about what, its text, its files,
and whether a machine sent it. The headers are read in intake.headers, the text and files in
intake.body.

Only the standard library's `email` package (with `policy.default`) parses; this module never
raises on bad input: broken parts are skipped and broken text is decoded with replacement
characters. HTML is turned into plain text and never kept for display.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses

from .body import ParsedAttachment, body_and_attachments
from .headers import auto_reason, header_text, message_id, sender, sent_date

TICKET_NUMBER_RE = re.compile(r"\b(INC|CHG|PRB|QST)-(\d{4})-(\d{5,})\b", re.IGNORECASE)


@dataclass
class ParsedMessage:
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    from_address: str = ""
    from_name: str = ""
    cc_addresses: list[str] = field(default_factory=list)  # lower-cased, without repeats
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


def cc_addresses(msg) -> list[str]:
    """The addresses in Cc (and To, besides the service desk), lower-cased, at most 50."""
    found = []
    try:
        values = [str(v) for v in (msg.get_all("Cc") or [])]
        pairs = getaddresses(values)
    except Exception:  # noqa: BLE001 - a broken header adds no watchers
        return []
    for _name, address in pairs:
        address = address.strip().lower()
        if "@" in address and address not in found:
            found.append(address)
    return found[:50]


def parse_headers_only(raw: bytes) -> ParsedMessage:
    """The headers of a message too large to read whole."""
    try:
        msg = BytesHeaderParser(policy=policy.default).parsebytes(raw[: 256 * 1024])
    except Exception:  # noqa: BLE001
        return ParsedMessage()
    name, address = sender(msg)
    return ParsedMessage(
        message_id=message_id(header_text(msg, "Message-ID")),
        from_address=address,
        from_name=name,
        subject=header_text(msg, "Subject"),
        date=sent_date(msg),
        has_headers=bool(msg.keys()),
    )


def parse_message(raw: bytes, own_addresses: Iterable[str] = ()) -> ParsedMessage:
    """Parse the bytes of one message; never raises."""
    try:
        msg = BytesParser(_class=EmailMessage, policy=policy.default).parsebytes(raw)
    except Exception as exc:  # noqa: BLE001
        return ParsedMessage(defects=[repr(exc)])
    result = ParsedMessage(has_headers=bool(msg.keys()))
    result.defects = [type(d).__name__ for d in getattr(msg, "defects", [])]
    result.message_id = message_id(header_text(msg, "Message-ID"))
    result.in_reply_to = message_id(header_text(msg, "In-Reply-To"))
    result.references = [
        message_id(ref) for ref in re.findall(r"<[^<>\s]+>", header_text(msg, "References"))
    ]
    result.from_name, result.from_address = sender(msg)
    result.cc_addresses = cc_addresses(msg)
    result.subject = header_text(msg, "Subject")
    result.date = sent_date(msg)
    result.auto_reason = auto_reason(msg, result.from_address, own_addresses)
    try:
        result.body, result.body_was_html, result.attachments = body_and_attachments(msg)
    except Exception as exc:  # noqa: BLE001 - keep what the headers told us
        result.defects.append(f"body: {exc!r}")
    return result
