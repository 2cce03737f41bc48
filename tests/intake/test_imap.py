"""intake.tasks.poll_imap against a fake IMAP server (imaplib.IMAP4_SSL is the boundary)."""

import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError

from intake import services, tasks
from intake.models import InboundMessage, InboundStatus
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

URL = "imaps://desk%40pim.local:s3cr%3At@imap.example.com/Service%20Desk"


class FakeImap:
    """Just enough of imaplib.IMAP4 for the poller: UID SEARCH / FETCH / STORE."""

    instances = []

    def __init__(self, host, port=None, timeout=None, mailbox=None):
        self.host, self.port = host, port
        self.mailbox = mailbox  # {uid: {"raw": bytes, "flags": set()}}
        self.logged_in = None
        self.selected = None
        self.starttls_called = False
        self.fail_store = False
        self.closed = self.logged_out = False
        FakeImap.instances.append(self)

    def starttls(self):
        self.starttls_called = True

    def login(self, user, password):
        self.logged_in = (user, password)
        return "OK", [b"LOGIN completed"]

    def select(self, folder):
        self.selected = folder
        return "OK", [str(len(self.mailbox)).encode()]

    def uid(self, command, *args):
        command = command.upper()
        if command == "SEARCH":
            assert args == (None, "UNSEEN")
            unseen = [
                str(u).encode() for u, m in self.mailbox.items() if "\\Seen" not in m["flags"]
            ]
            return "OK", [b" ".join(unseen)]
        if command == "FETCH":
            uid, what = args
            assert what == "(BODY.PEEK[])"  # fetching must not mark the message seen
            raw = self.mailbox[int(uid)]["raw"]
            return "OK", [(b"%s (UID %s BODY[] {%d}" % (uid, uid, len(raw)), raw), b")"]
        if command == "STORE":
            uid, op, flags = args
            if self.fail_store:
                raise OSError("connection reset")
            assert (op, flags) == ("+FLAGS", "(\\Seen)")
            self.mailbox[int(uid)]["flags"].add("\\Seen")
            return "OK", [b""]
        raise AssertionError(command)

    def close(self):
        self.closed = True

    def logout(self):
        self.logged_out = True


@pytest.fixture
def mailbox(monkeypatch, settings, eml):
    settings.IMAP_URL = URL
    box = {
        1: {"raw": eml("multipart_attachments.eml"), "flags": set()},
        2: {"raw": eml("auto_reply.eml"), "flags": set()},
        3: {"raw": eml("unknown_sender.eml"), "flags": set()},
        4: {"raw": eml("latin1.eml"), "flags": {"\\Seen"}},  # already read by a person
    }
    FakeImap.instances = []
    monkeypatch.setattr(
        tasks.imaplib, "IMAP4_SSL", lambda *a, **kw: FakeImap(*a, mailbox=box, **kw)
    )
    return box


def test_poll_ingests_the_unseen_messages_and_marks_them_seen(users, mailbox):
    result = tasks.poll_imap()
    assert result == {"ingested": 3, "failed": 0}
    server = FakeImap.instances[0]
    assert (server.host, server.port) == ("imap.example.com", 993)
    assert server.logged_in == ("desk@pim.local", "s3cr:t")
    assert server.selected == '"Service Desk"'
    assert server.closed and server.logged_out
    assert all("\\Seen" in m["flags"] for m in mailbox.values())
    statuses = sorted(InboundMessage.objects.values_list("status", flat=True))
    assert statuses == [InboundStatus.HELD, InboundStatus.IGNORED, InboundStatus.PROCESSED]
    assert Ticket.objects.count() == 1  # latin1.eml was already seen: not read


def test_a_failed_ingest_leaves_the_message_unseen(monkeypatch, users, mailbox):
    real = services.ingest

    def flaky(raw):
        if b"Jan Jansen" in raw:
            raise OperationalError("database is gone")
        return real(raw)

    monkeypatch.setattr(services, "ingest", flaky)
    assert tasks.poll_imap() == {"ingested": 2, "failed": 1}
    assert "\\Seen" not in mailbox[3]["flags"]
    assert "\\Seen" in mailbox[1]["flags"]

    monkeypatch.setattr(services, "ingest", real)
    assert tasks.poll_imap() == {"ingested": 1, "failed": 0}  # the next poll picks it up
    assert InboundMessage.objects.filter(status=InboundStatus.HELD).count() == 1


def test_a_crash_before_marking_seen_does_not_duplicate(monkeypatch, users, mailbox):
    original = FakeImap.__init__

    def init_failing_store(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.fail_store = len(FakeImap.instances) == 1

    monkeypatch.setattr(FakeImap, "__init__", init_failing_store)
    with pytest.raises(OSError):
        tasks.poll_imap()  # ingested message 1, then the connection broke
    assert "\\Seen" not in mailbox[1]["flags"]
    tasks.poll_imap()  # everything again
    assert Ticket.objects.count() == 1
    assert InboundMessage.objects.count() == 3


def test_batch_limit(users, mailbox, settings):
    settings.IMAP_BATCH = 2
    assert tasks.poll_imap()["ingested"] == 2
    assert tasks.poll_imap()["ingested"] == 1


def test_disabled_without_imap_url(settings):
    settings.IMAP_URL = ""
    assert tasks.poll_imap() == {"ingested": 0, "failed": 0, "disabled": True}


def test_plain_imap_url_uses_starttls(monkeypatch, users, settings, eml):
    settings.IMAP_URL = "imap://u:p@mail.example.com"
    box = {}
    FakeImap.instances = []
    monkeypatch.setattr(tasks.imaplib, "IMAP4", lambda *a, **kw: FakeImap(*a, mailbox=box, **kw))
    tasks.poll_imap()
    server = FakeImap.instances[0]
    assert server.starttls_called and server.port == 143 and server.selected == '"INBOX"'


def test_bad_imap_url():
    with pytest.raises(tasks.ImapConfigError):
        tasks.parse_imap_url("https://example.com/")


def test_beat_polls_only_when_imap_url_is_set():
    assert "intake-poll-imap" not in django_settings.CELERY_BEAT_SCHEDULE  # the test default
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'pim.settings'; "
        "from django.conf import settings; "
        "print(settings.CELERY_BEAT_SCHEDULE['intake-poll-imap']['task'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"IMAP_URL": URL, "PATH": "", "SECRET_KEY": "x", "HTTPS": "false"},
        capture_output=True,
        text=True,
        check=True,
        cwd=django_settings.BASE_DIR,
    )
    assert out.stdout.strip() == "intake.tasks.poll_imap"
