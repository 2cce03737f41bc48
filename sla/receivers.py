"""sla's reactions to what happens to tickets (`tickets.signals`); connected in SlaConfig.ready().

Each receiver runs inside the ticket write's transaction: a ticket and its clocks change together.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from pim import config_cache
from tickets import signals
from tickets.models import Ticket

from . import services
from .models import (
    Calendar,
    CalendarDate,
    ClockEvent,
    Contract,
    ContractOverride,
    OpeningHours,
    PolicyTarget,
    SlaDocumentVersion,
    SlaPolicy,
)


@receiver(signals.ticket_registering, sender=Ticket, dispatch_uid="sla.prepare")
def prepare_clocks(sender, ticket, actor, **kwargs):
    services.prepare(ticket)


@receiver(signals.ticket_created, sender=Ticket, dispatch_uid="sla.start")
def start_clocks(sender, ticket, actor, **kwargs):
    services.start(ticket, actor)


@receiver(signals.ticket_responded, sender=Ticket, dispatch_uid="sla.responded")
def record_response(sender, ticket, actor, at, status_follows=False, **kwargs):
    # A first action that moves the status: the status change's recompute derives both events.
    services.on_responded(ticket, at, actor, recompute_now=not status_follows)


@receiver(signals.priority_changed, sender=Ticket, dispatch_uid="sla.priority")
def record_priority(sender, ticket, actor, new_priority, at, **kwargs):
    services.on_priority_change(ticket, new_priority, actor, at)


@receiver(signals.workaround_recorded, sender=Ticket, dispatch_uid="sla.workaround")
def record_workaround(sender, ticket, actor, at, **kwargs):
    services.record(ticket, ClockEvent.Kind.WORKAROUND, at=at, actor=actor)


@receiver(signals.ticket_transitioned, sender=Ticket, dispatch_uid="sla.status")
def record_status(sender, ticket, actor, old_status, new_status, at, **kwargs):
    services.on_status_change(ticket, old_status, new_status, actor, at)


# --- cached terms and calendars -------------------------------------------------------------
# A new ticket's terms (per organisation, kind and day, `services.terms_for`) and the built
# calendars (`calendars.business_calendar`) are configuration copies (`pim.config_cache`): any
# change to the rows they are built from makes every process build them afresh. QuerySet.update()
# sends no signal: change these rows through save() (the admin does).
# A document version's policy (and its Major Change route) decides which policy a new ticket gets.
TERMS_MODELS = (Contract, ContractOverride, SlaPolicy, PolicyTarget, SlaDocumentVersion)
CALENDAR_MODELS = (Calendar, OpeningHours, CalendarDate)


def _configuration_changed(sender, **kwargs):
    config_cache.changed()  # one new generation: the calendars and the terms built with them


for model in TERMS_MODELS + CALENDAR_MODELS:
    post_save.connect(
        _configuration_changed, sender=model, dispatch_uid=f"sla.config.save.{model.__name__}"
    )
    post_delete.connect(
        _configuration_changed, sender=model, dispatch_uid=f"sla.config.delete.{model.__name__}"
    )
