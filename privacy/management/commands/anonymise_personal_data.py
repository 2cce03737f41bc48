"""Anonymise personal data whose retention period has passed (what beat runs daily), or, with
--user, everything of one person on closed tickets (an erasure request)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pim.models import User
from privacy import services


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only list what is due")
        parser.add_argument("--user", help="username: anonymise this person's closed tickets now")

    def handle(self, *args, dry_run, user, **options):
        if user:
            if dry_run:
                raise CommandError("--dry-run lists what the retention period makes due")
            person = User.objects.filter(username=user).first()
            if person is None:
                raise CommandError(f"no user {user!r}")
            numbers, messages, still_open = services.erase_person(person, via="command")
            kept = f"; open, kept until closed: {', '.join(still_open)}" if still_open else ""
            self.stdout.write(
                f"{person}: {len(numbers)} closed tickets and {messages} e-mails anonymised{kept}"
            )
            return
        numbers, messages = services.anonymise_expired(via="command", dry_run=dry_run)
        verb = "due" if dry_run else "anonymised"
        self.stdout.write(
            f"{len(numbers)} tickets and {messages} e-mails {verb} "
            f"(closed or received more than {settings.PERSONAL_DATA_RETENTION_DAYS} days ago)"
            + (f": {', '.join(numbers)}" if numbers else "")
        )
