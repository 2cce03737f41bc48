"""The headers of one RFC 5322 message: who sent it, when, its Message-ID, and whether a machine
sent it (auto-replies, bounces, bulk and list mail must never become tickets).

Header values come from the standard library's `email` package (`policy.default`); a header the
parser cannot read counts as absent, so bad input never raises here.
"""

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

# Senders that are machines, whatever the headers say (compared on the local part).
MACHINE_LOCAL_PARTS = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|auto-?reply)([+._-].*)?$",
    re.IGNORECASE,
)
BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}


# --- reading headers ------------------------------------------------------------------------


def header_text(msg, name: str) -> str:
    """A header's value as text; a header the parser cannot read becomes ''."""
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - malformed headers must not stop the intake
        return ""
    if value is None:
        return ""
    return " ".join(str(value).split())


def message_id(value: str) -> str:
    """The bare id of a Message-ID header (no angle brackets); a hash when over 250 characters."""
    value = (value or "").strip()
    match = re.search(r"<([^<>\s]+)>", value)
    if match:
        value = match.group(1)
    value = value.split()[0] if value.split() else ""
    if len(value) > 250:
        value = "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return value


def sender(msg) -> tuple[str, str]:
    """(display name, address) of the first From address that has an @; ("", "") if none."""
    raw = header_text(msg, "From")
    try:
        addresses = getaddresses([raw])
    except Exception:  # noqa: BLE001
        addresses = [parseaddr(raw)]
    for name, address in addresses:
        if "@" in address:
            return name.strip(), address.strip()
    return "", ""


def sent_date(msg) -> datetime | None:
    """The Date header as an aware datetime; None when missing, unreadable or without zone."""
    value = header_text(msg, "Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return None
    return parsed


# --- machine mail ---------------------------------------------------------------------------


def auto_reason(msg, from_address: str, own_addresses: Iterable[str] = ()) -> str:
    """Why this message was sent by a machine (auto-reply, bounce, bulk, list), or ''."""
    auto_submitted = header_text(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = header_text(msg, "Precedence").lower()
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply"):
        if msg.get(name) is not None:
            return f"{name} header"
    for name in ("List-Id", "List-Unsubscribe", "List-Post"):
        if msg.get(name) is not None:
            return f"{name} header (mailing list)"
    if msg.get("Return-Path") is not None and header_text(msg, "Return-Path") in ("<>", ""):
        return "empty Return-Path (bounce)"
    if msg.get_content_type() == "multipart/report":
        return "delivery or read report (multipart/report)"
    local = from_address.rsplit("@", 1)[0] if "@" in from_address else from_address
    if local and MACHINE_LOCAL_PARTS.match(local):
        return f"machine sender {from_address}"
    if from_address and from_address.lower() in {a.lower() for a in own_addresses}:
        return "sent by the service desk address itself (loop)"
    return ""
