"""Recompute the clocks of open tickets after a policy or calendar correction, then rebuild
every ticket's SLA summary columns (`next_due_at`, `sla_state`) from the stored clocks."""

import sys

from django.core.management.base import BaseCommand
from django_scopes import scopes_disabled

from sla.services import rebuild_summaries, recompute_open


class Command(BaseCommand):
    help = "Recompute the SLA clocks of open tickets (closed tickets' figures never change)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--calendar", type=int, action="append", help="only tickets on this calendar id"
        )

    def handle(self, *args, calendar=None, **options):
        out = self.stdout

        def progress(done, total):
            width = 40
            filled = width * done // max(total, 1)
            out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
            if done == total:
                out.write("")
            if hasattr(sys.stdout, "flush"):
                out.flush()

        with scopes_disabled():
            total = recompute_open(calendar, progress=progress)
            summaries = rebuild_summaries()
        out.write(self.style.SUCCESS(f"Recomputed {total} open tickets."))
        out.write(self.style.SUCCESS(f"Rebuilt the SLA summary of {summaries} tickets."))
