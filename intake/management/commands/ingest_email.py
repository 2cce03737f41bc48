"""Read one RFC 5322 message from standard input (an MTA pipe) and ingest it.

    /etc/aliases:  servicedesk: "|/srv/pim/.venv/bin/python /srv/pim/manage.py ingest_email"

Exit codes (sysexits): 0 when the message was stored (also when it was ignored, held, rejected
or a duplicate: the MTA must not bounce, or an auto-reply could loop); 65 (EX_DATAERR) when the
input is not a message at all; 75 (EX_TEMPFAIL) when the database is unavailable, so the MTA
queues the message and tries again.
"""

import sys

from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError

from intake import services

EX_DATAERR = 65
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Ingest one e-mail message read from standard input (for an MTA pipe)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--file", help="Read the message from this file instead of standard input."
        )

    def handle(self, *args, **options):
        try:
            if options.get("file"):
                with open(options["file"], "rb") as fh:
                    raw = fh.read()
            else:
                stream = getattr(sys.stdin, "buffer", sys.stdin)
                raw = stream.read()
                if isinstance(raw, str):
                    raw = raw.encode("utf-8", "surrogateescape")
        except OSError as exc:
            self.stderr.write(f"ingest_email: cannot read the message: {exc}")
            sys.exit(EX_DATAERR)
        if not services.is_readable(raw):
            self.stderr.write("ingest_email: the input is not an e-mail message")
            sys.exit(EX_DATAERR)
        try:
            message = services.ingest(raw)
        except (OperationalError, InterfaceError) as exc:
            self.stderr.write(f"ingest_email: temporary failure, try again later: {exc}")
            sys.exit(EX_TEMPFAIL)
        outcome = "duplicate" if getattr(message, "duplicate", False) else message.status
        ticket = f" {message.ticket.number}" if message.ticket_id else ""
        self.stdout.write(f"{outcome}{ticket}: {message.reason}")
