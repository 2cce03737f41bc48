"""`manage.py ingest_email`: one message on standard input, as an MTA pipe delivers it."""

import io
import sys

import pytest
from django.core.management import call_command

from intake.models import InboundMessage, InboundStatus
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def run(monkeypatch, raw, *args):
    """Call the command with `raw` as the binary standard input; (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("ingest_email", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_reads_a_message_from_stdin_and_files_a_ticket(monkeypatch, users, eml):
    code, out, _ = run(monkeypatch, eml("latin1.eml"))  # 8-bit bytes: read as bytes, not text
    ticket = Ticket.objects.get()
    assert code == 0
    assert out.startswith(f"processed {ticket.number}:")
    assert ticket.title == "Storing in het café"


@pytest.mark.parametrize(
    "name, status",
    [
        ("auto_reply.eml", InboundStatus.IGNORED),
        ("bounce_mailer_daemon.eml", InboundStatus.IGNORED),
        ("unknown_sender.eml", InboundStatus.HELD),
    ],
)
def test_ignored_and_held_messages_exit_zero(monkeypatch, users, eml, name, status):
    code, out, _ = run(monkeypatch, eml(name))
    assert code == 0
    assert out.startswith(status)
    assert Ticket.objects.count() == 0


def test_a_duplicate_exits_zero_and_says_so(monkeypatch, users, eml):
    run(monkeypatch, eml("multipart_attachments.eml"))
    code, out, _ = run(monkeypatch, eml("multipart_attachments.eml"))
    assert code == 0 and out.startswith("duplicate")
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize("raw", [b"", b"   \n", b"\x00\x01\x02\xff binary junk"])
def test_unreadable_input_exits_65_and_stores_nothing(monkeypatch, users, raw):
    code, _, err = run(monkeypatch, raw)
    assert code == 65
    assert "not an e-mail message" in err
    assert InboundMessage.objects.count() == 0


def test_a_database_outage_exits_75_so_the_mta_retries(monkeypatch, users, eml):
    from django.db import OperationalError

    from intake import services

    def outage(raw):
        raise OperationalError("database is gone")

    monkeypatch.setattr(services, "ingest", outage)
    code, _, err = run(monkeypatch, eml("latin1.eml"))
    assert code == 75 and "try again" in err


def test_reads_a_file(monkeypatch, users, tmp_path, eml):
    path = tmp_path / "m.eml"
    path.write_bytes(eml("html_only.eml"))
    code, out, _ = run(monkeypatch, b"", "--file", str(path))
    assert code == 0 and out.startswith("processed")
