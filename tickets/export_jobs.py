"""The background exports of the ticket lists (tickets/exports.py writes the files): start,
claim, run, the relay that re-sends what the broker lost, and the daily cleanup.

A list of more than `EXPORT_DIRECT_MAX_ROWS` rows becomes an `Export` row, and its task
(`tickets.tasks.write_export`) is handed to the broker after commit. As with the notification
outbox (escalation/outbox.py), the row is the truth and the message only a nudge:

- A run first claims the export with a conditional UPDATE (waiting → running, with a fresh claim
  token), so a second message for the same export (a redelivery, the relay's) finds it taken and
  does nothing. Every later write of the run (progress, done, failed) counts only while its token
  is on the row: a run the relay gave up on stops at its next chunk and throws its file away.
  Each run writes its own file (a random stored name), so two runs never write into one path.
- The relay (beat, every `EXPORT_RELAY_SECONDS`) takes the exports whose `relay_at` has come,
  through a partial index: a waiting one whose message was lost (broker restarted, enqueue
  failed) is sent again `EXPORT_RELAY_AFTER_SECONDS` after it was sent, the wait doubling with
  every attempt (a long queue is not a lost message); a running one whose progress has not moved
  for `EXPORT_STALLED_SECONDS` (its worker died) goes back to waiting and is sent again. After
  `EXPORT_MAX_ATTEMPTS` the export fails with a message its owner reads on /exports/. The rows
  are taken with SELECT … FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite writes one at a time) and
  moved on in the same transaction, so two relays at once send an export once.
- A broker that refuses the message does not fail the page that started the export: the export
  waits, and the relay sends it when the broker is back.
"""

import logging
import tempfile
import time
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from pim.celery import FAIL_FAST
from pim.scoping import user_scope

from .exports import WRITERS, ExportRefused, export_rows, filename
from .models import Export, ExportStatus

log = logging.getLogger(__name__)

ACTIVE = [ExportStatus.PENDING, ExportStatus.RUNNING]

# After the broker refused a message, skip enqueueing for a while: the relay sends the exports,
# and pages do not each wait for a connection during an outage (as escalation.outbox does).
BROKER_BACKOFF_SECONDS = 30
_broker_down_until = 0.0


class Superseded(Exception):  # noqa: N818 - a signal between two functions, not an error
    """This run no longer holds its export (the relay restarted it): stop writing."""


def relay_delay(attempts: int) -> timedelta:
    """How long a waiting export waits for a worker after its `attempts`-th sending before the
    relay sends it again: the grace, doubled at every attempt, at most an hour."""
    grace = settings.EXPORT_RELAY_AFTER_SECONDS
    return timedelta(seconds=min(grace * 2 ** max(attempts - 1, 0), 3600))


def stalled_after() -> timedelta:
    """A running export whose progress has not moved for this long lost its worker."""
    return timedelta(seconds=settings.EXPORT_STALLED_SECONDS)


def active_count(user) -> int:
    return Export.objects.filter(
        owner=user, status__in=ACTIVE, expires_at__gt=timezone.now()
    ).count()


def start(user, list_name, query, fmt, language) -> Export:
    """An `Export` row, and its task sent once the row is committed (the first attempt)."""
    now = timezone.now()
    export = Export.objects.create(
        owner=user,
        list=list_name,
        query=query,
        format=fmt,
        language=language,
        created_at=now,
        expires_at=now + timedelta(days=settings.EXPORT_KEEP_DAYS),
        attempts=1,
        relay_at=now + relay_delay(1),
    )
    transaction.on_commit(partial(send, export.pk))
    return export


def send(export_id: int, *, force: bool = False) -> bool:
    """Hand the export's task to the broker; if the broker is down the relay sends it later."""
    global _broker_down_until
    from . import tasks  # deferred: tasks imports this module (the task wraps `run`)

    if not force and time.monotonic() < _broker_down_until:
        return False
    try:
        tasks.write_export.apply_async((export_id,), **FAIL_FAST)
    except Exception as exc:  # noqa: BLE001 - the row waits; the relay sends it
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        log.warning(
            "export %s not enqueued (%s); the relay sends it", export_id, exc.__class__.__name__
        )
        return False
    _broker_down_until = 0.0
    return True


def _claim(export_id):
    """Take a waiting export for this run; None if it is not waiting (taken, done, expired)."""
    now = timezone.now()
    token = uuid.uuid4().hex
    claimed = Export.objects.filter(
        pk=export_id, status=ExportStatus.PENDING, expires_at__gt=now
    ).update(
        status=ExportStatus.RUNNING,
        claim=token,
        started_at=now,
        rows_done=0,
        rows_total=None,
        relay_at=now + stalled_after(),
    )
    if not claimed:
        return None
    return Export.objects.select_related("owner").filter(pk=export_id, claim=token).first()


def run(export_id) -> Export | None:
    """Write the export's file in chunks, recording the progress: rows done of the total after
    every chunk. A list that cannot be read any more (its filters refused) fails with the
    reason; the owner's scope is today's, so a user who lost access exports nothing more.
    None when this run did not write it (not waiting, or restarted by the relay meanwhile)."""
    export = _claim(export_id)
    if export is None:
        return None
    mine = Export.objects.filter(pk=export.pk, status=ExportStatus.RUNNING, claim=export.claim)

    def moved(**fields):
        """Record progress (the relay sees the worker alive), if the export is still ours."""
        if not mine.update(relay_at=timezone.now() + stalled_after(), **fields):
            raise Superseded

    owner = export.owner
    with user_scope(owner), translation.override(export.language):
        try:
            rows = export_rows(owner, export.list, export.query)
            total = rows.order_by().count()
            moved(rows_total=total, rows_done=0)
            with tempfile.TemporaryFile() as out:
                written = WRITERS[export.format](
                    out, owner, rows, lambda done: moved(rows_done=min(done, total))
                )
                out.seek(0)
                moved()  # storing a large file takes a while too
                export.file.save(filename(export.list, export.format), File(out), save=False)
        except Superseded:
            log.warning("export %s: restarted by the relay, this run stops", export.pk)
            return None
        except ExportRefused as exc:
            return _fail(mine, export, str(exc))
        except Exception:
            _fail(mine, export, str(_("The export could not be written.")))
            raise
    done = mine.update(
        file=export.file.name,
        status=ExportStatus.DONE,
        rows_done=written,
        rows_total=written,
        finished_at=timezone.now(),
        claim="",
        relay_at=None,
    )
    if not done:  # the relay restarted it while the file was stored: the new run writes its own
        export.file.storage.delete(export.file.name)
        return None
    export.refresh_from_db()
    return export


def _fail(mine, export, message):
    mine.update(
        status=ExportStatus.FAILED,
        error=message[:300],
        finished_at=timezone.now(),
        claim="",
        relay_at=None,
    )
    export.refresh_from_db()
    return export


# --- the relay --------------------------------------------------------------------------------


def out_of_attempts(attempts: int) -> str:
    """The reason the owner reads on /exports/ (in the language active)."""
    return ngettext(
        "The file could not be made in %(count)d attempt. Start the export again from the list.",
        "The file could not be made in %(count)d attempts. Start the export again from the list.",
        attempts,
    ) % {"count": attempts}


def relay(now=None, limit: int = 100) -> dict[str, list[int]]:
    """Beat runs this every minute: send again the waiting exports whose message got lost,
    restart the running ones whose worker died, and fail those out of attempts. Returns the
    ids sent and failed. The messages go after commit."""
    now = now or timezone.now()
    sent, failed = [], []
    with transaction.atomic():
        due = list(
            Export.objects.select_for_update(skip_locked=True)
            .filter(status__in=ACTIVE, relay_at__lte=now, expires_at__gt=now)
            .order_by("relay_at")
            .values_list("pk", "status", "attempts", "language")[:limit]
        )
        for pk, status, attempts, language in due:
            row = Export.objects.filter(pk=pk)
            if attempts >= settings.EXPORT_MAX_ATTEMPTS:
                with translation.override(language):
                    message = out_of_attempts(attempts)
                row.update(
                    status=ExportStatus.FAILED,
                    error=message[:300],
                    finished_at=now,
                    claim="",
                    relay_at=None,
                )
                failed.append(pk)
                log.warning("export %s failed: %s attempts", pk, attempts)
                continue
            row.update(
                status=ExportStatus.PENDING,
                claim="",
                rows_done=0,
                attempts=attempts + 1,
                relay_at=now + relay_delay(attempts + 1),
            )
            transaction.on_commit(partial(send, pk, force=True))
            sent.append(pk)
            log.warning(
                "export %s %s; sent again (attempt %s)",
                pk,
                "stalled" if status == ExportStatus.RUNNING else "still waiting",
                attempts + 1,
            )
    return {"sent": sent, "failed": failed}


# --- the cleanup ------------------------------------------------------------------------------


def delete_expired(now=None, batch=500) -> int:
    """Remove the exports past their expiry (through the expiry index); their files go when
    the rows are deleted (`delete_file`)."""
    now = now or timezone.now()
    removed = 0
    while True:
        ids = list(
            Export.objects.filter(expires_at__lte=now)
            .order_by("expires_at")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return removed
        with transaction.atomic():
            Export.objects.filter(pk__in=ids).delete()
        removed += len(ids)


def delete_file(sender, instance, **kwargs):
    """post_delete of an Export (expired, or its owner removed): its file goes once the
    deletion is committed."""
    if instance.file:
        name, storage = instance.file.name, instance.file.storage
        transaction.on_commit(lambda: storage.delete(name))
