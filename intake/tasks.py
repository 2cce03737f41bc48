"""IMAP polling: read the unseen messages of the service desk mailbox and ingest each.

A message is fetched with BODY.PEEK[] (which leaves it unseen) and marked \\Seen only after
`ingest` stored it. A crash in between leaves it unseen; the next poll ingests it again and
the Message-ID makes that a no-op, so nothing is lost and nothing is done twice.
"""

import contextlib
import imaplib
import logging
import re
from urllib.parse import unquote, urlsplit

from celery import shared_task
from django.conf import settings

from . import services

log = logging.getLogger(__name__)


class ImapConfigError(ValueError):
    pass


def parse_imap_url(url):
    """imaps://user:password@host[:port]/FOLDER → dict; user and password may be %-encoded."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname:
        raise ImapConfigError("IMAP_URL must look like imaps://user:password@host/INBOX")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return {
        "ssl": parts.scheme == "imaps",
        "host": parts.hostname,
        "port": parts.port or (993 if parts.scheme == "imaps" else 143),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "folder": folder,
    }


def connect(config):
    if config["ssl"]:
        conn = imaplib.IMAP4_SSL(config["host"], config["port"], timeout=30)
    else:
        conn = imaplib.IMAP4(config["host"], config["port"], timeout=30)
        conn.starttls()  # never send the password in the clear
    conn.login(config["user"], config["password"])
    return conn


def _fetched_bytes(data):
    """The message bytes out of an imaplib FETCH answer: [(b'1 (UID 7 BODY[] {n}', raw), b')']."""
    for item in data or []:
        if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], bytes | bytearray):
            return bytes(item[1])
    return None


def _quote_folder(folder):
    return '"' + re.sub(r'(["\\])', r"\\\1", folder) + '"'


def poll(url=None, batch=None):
    """One poll; returns {'ingested': n, 'failed': n}. Used by the task and by tests."""
    url = url if url is not None else settings.IMAP_URL
    if not url:
        return {"ingested": 0, "failed": 0, "disabled": True}
    config = parse_imap_url(url)
    batch = batch or settings.IMAP_BATCH
    conn = connect(config)
    counts = {"ingested": 0, "failed": 0}
    try:
        status, _ = conn.select(_quote_folder(config["folder"]))
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot select {config['folder']}")
        status, data = conn.uid("SEARCH", None, "UNSEEN")
        if status != "OK":
            raise imaplib.IMAP4.error("UID SEARCH UNSEEN failed")
        uids = (data[0] or b"").split() if data else []
        for uid in uids[:batch]:
            status, data = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = _fetched_bytes(data) if status == "OK" else None
            if raw is None:
                counts["failed"] += 1
                log.warning("intake: could not fetch IMAP message uid %s", uid)
                continue
            try:
                message = services.ingest(raw)
            except Exception:
                # The database is unavailable: leave the message unseen for the next poll.
                counts["failed"] += 1
                log.exception("intake: ingest failed for IMAP uid %s; left unseen", uid)
                continue
            conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            counts["ingested"] += 1
            log.info("intake: IMAP uid %s → %s %s", uid, message.status, message.reason)
    finally:
        with contextlib.suppress(Exception):  # closing a broken connection
            conn.close()
        with contextlib.suppress(Exception):
            conn.logout()
    return counts


@shared_task(acks_late=True, ignore_result=True, time_limit=120, soft_time_limit=100)
def poll_imap():
    """Beat runs this every IMAP_POLL_SECONDS when IMAP_URL is set."""
    return poll()
