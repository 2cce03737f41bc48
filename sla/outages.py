"""An incident marks an outage of its service (SPEC §9): agents set it on the ticket page or
through the API, with a start and an end that default to the ticket's registration and its
restore moment. Every change is in the ticket's audit trail. The availability figures read the
rows (`sla.availability_queries`)."""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pim.inputs import validate_instants
from pim.permissions import require_worker
from tickets.models import Kind, Ticket
from tickets.services import record_audit

from .models import Outage, Target


@dataclass(frozen=True)
class OutageView:
    """An incident's outage as the figures count it."""

    starts_at: datetime | None  # as the agent set it (None: the default)
    ends_at: datetime | None
    start: datetime  # as counted
    end: datetime | None  # None: not restored yet (counts until now)
    counted: bool  # False when the ticket is marked "SLA not applicable"


def restored_at(ticket):
    """The restore moment: the restore clock's stop (prefetched clocks are used), else the
    workaround or resolution; None while the service is not restored."""
    for clock in ticket.clocks.all():
        if clock.target == Target.RESTORE and clock.stopped_at:
            return clock.stopped_at
    return ticket.workaround_at or ticket.resolved_at


def outage_view(ticket):
    """The ticket's outage (None when it marks none). Reads `ticket.outage` (prefetch it for a
    list) and the ticket's clocks."""
    try:
        outage = ticket.outage
    except Outage.DoesNotExist:
        return None
    return OutageView(
        starts_at=outage.starts_at,
        ends_at=outage.ends_at,
        start=outage.starts_at or ticket.reported_at,
        end=outage.ends_at or restored_at(ticket),
        counted=not ticket.sla_not_applicable,
    )


def _text(start, end):
    """The outage for the audit trail, in no language: "…" stands for a default (registration,
    restore)."""
    fmt = "%Y-%m-%d %H:%M"
    begin = timezone.localtime(start).strftime(fmt) if start else "…"
    finish = timezone.localtime(end).strftime(fmt) if end else "…"
    return f"{begin} – {finish}"


def _check(ticket, starts_at, ends_at, now):
    if ticket.kind != Kind.INCIDENT:
        raise ValidationError(_("Only an incident marks an outage of a service."))
    if ticket.service_id is None:
        raise ValidationError(
            _("Name the service of the incident first: the outage is one of that service.")
        )
    validate_instants(starts_at=starts_at, ends_at=ends_at)
    if starts_at and starts_at > now:
        raise ValidationError({"starts_at": _("The outage cannot start in the future.")})
    if ends_at and ends_at > now:
        raise ValidationError({"ends_at": _("Give an end that has passed, or leave it empty.")})
    start = starts_at or ticket.reported_at
    if ends_at and ends_at <= start:
        raise ValidationError({"ends_at": _("The end must lie after the start.")})


@transaction.atomic
def mark_outage(ticket: Ticket, actor, starts_at=None, ends_at=None) -> Outage:
    """Mark (or correct) the outage of the incident's service; empty times take the defaults."""
    require_worker(actor)
    _check(ticket, starts_at, ends_at, timezone.now())
    before = Outage.objects.filter(ticket=ticket).first()
    old = _text(before.starts_at, before.ends_at) if before else None
    new = _text(starts_at, ends_at)
    outage, _created = Outage.objects.update_or_create(
        ticket=ticket,
        defaults={"starts_at": starts_at, "ends_at": ends_at, "marked_by": actor},
    )
    if old != new:
        record_audit(ticket, actor, "outage", {"outage_window": [old, new]})
    return outage


@transaction.atomic
def clear_outage(ticket: Ticket, actor) -> None:
    """The incident marks no outage (any more)."""
    require_worker(actor)
    before = Outage.objects.filter(ticket=ticket).first()
    if before is None:
        return
    before.delete()
    record_audit(
        ticket,
        actor,
        "outage_cleared",
        {"outage_window": [_text(before.starts_at, before.ends_at), None]},
    )
