"""Everything PIM holds about one person as JSON (an access request); recorded in the privacy
log."""

import json

from django.core.management.base import BaseCommand, CommandError

from pim.models import User
from privacy.export import export_person


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--output", help="write to this file instead of standard output")

    def handle(self, *args, username, output, **options):
        person = User.objects.filter(username=username).first()
        if person is None:
            raise CommandError(f"no user {username!r}")
        text = json.dumps(export_person(person, via="command"), indent=2, ensure_ascii=False)
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
            self.stderr.write(f"written to {output}")
        else:
            self.stdout.write(text)
