"""The customer's part beyond filing and replying (issue 12 items 2 and 11): watchers (CC),
withdrawing a ticket before work started, and the satisfaction rating of a closed ticket.
Views, the API and e-mail intake call these; every change is audited."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pim import inputs
from pim.models import CUSTOMER_ROLES, User
from pim.permissions import is_authorised_contact, is_worker

from . import services, workflow
from .models import Channel, SatisfactionRating, Status, Ticket, TicketWatcher

# Agents add watchers to the tickets they register for a customer (phone, e-mail, chat).
AGENT_WATCHER_CHANNELS = frozenset({Channel.PHONE, Channel.EMAIL, Channel.CHAT})

RATING_SCORES = (1, 2, 3, 4, 5)


# --- watchers ---------------------------------------------------------------------------------


def may_manage_watchers(ticket, user) -> bool:
    """The reporter, an authorised contact of the organisation, or (on a ticket registered for
    a customer by phone, e-mail or chat) a worker; never on a closed ticket."""
    if user is None or not user.is_authenticated or ticket.status == Status.CLOSED:
        return False
    if ticket.reporter_id == user.pk:
        return True
    if is_authorised_contact(user):
        return user.organization_id_or_none == ticket.organization_id
    return is_worker(user) and ticket.channel in AGENT_WATCHER_CHANNELS


def watcher_candidates(ticket):
    """The colleagues who can be added: active customers of the ticket's organisation who are
    neither its reporter nor watching already."""
    return (
        User.objects.filter(
            is_active=True,
            membership__organization_id=ticket.organization_id,
            membership__role__in=sorted(CUSTOMER_ROLES),
        )
        .exclude(pk=ticket.reporter_id)
        .exclude(pk__in=TicketWatcher.objects.filter(ticket=ticket).values("user_id"))
        .order_by("first_name", "last_name", "username")
    )


def _check_colleague(ticket, user):
    if user is None or not user.is_active or not user.is_customer:
        raise ValidationError({"user": _("Choose a colleague of this organisation.")})
    if user.organization_id_or_none != ticket.organization_id:
        raise ValidationError({"user": _("Only colleagues of the same organisation can watch.")})
    if user.pk == ticket.reporter_id:
        raise ValidationError({"user": _("The reporter is told everything already.")})


@transaction.atomic
def add_watcher(ticket: Ticket, actor, user, *, now=None) -> tuple[TicketWatcher, bool]:
    """Add a colleague as watcher (once); `actor=None` is e-mail intake (a CC address).
    Returns (watcher, created)."""
    if actor is not None:
        services._require_can_see(ticket, actor)
        if not may_manage_watchers(ticket, actor):
            raise PermissionDenied(_("You may not add watchers to this ticket."))
    _check_colleague(ticket, user)
    watcher, created = TicketWatcher.objects.get_or_create(
        ticket=ticket,
        user=user,
        defaults={"added_by": actor, "added_at": now or timezone.now()},
    )
    if created:
        services.record_audit(
            ticket, actor, "watcher_added", {"watcher": [None, _person(user)]}, obj=watcher
        )
    return watcher, created


@transaction.atomic
def remove_watcher(ticket: Ticket, actor, user) -> bool:
    """Remove a watcher: those who may add them, or the watcher themselves."""
    services._require_can_see(ticket, actor)
    if actor.pk != user.pk and not may_manage_watchers(ticket, actor):
        raise PermissionDenied(_("You may not remove watchers from this ticket."))
    watcher = TicketWatcher.objects.filter(ticket=ticket, user=user).first()
    if watcher is None:
        return False
    services.record_audit(
        ticket, actor, "watcher_removed", {"watcher": [_person(user), None]}, obj=watcher
    )
    watcher.delete()
    return True


def _person(user):
    return user.get_full_name() or user.username


# --- withdrawal -------------------------------------------------------------------------------


@transaction.atomic
def withdraw(ticket: Ticket, actor, reason: str = "") -> Ticket:
    """The reporter withdraws their ticket while no work has started: it is closed (clocks
    stopped), audited, and the agents are told (escalation's receiver)."""
    services._require_can_see(ticket, actor)
    if ticket.reporter_id != actor.pk:
        raise PermissionDenied(_("Only the reporter can withdraw a ticket."))
    if ticket.status != Status.NEW or ticket.responded_at is not None:
        raise ValidationError(
            {"reason": _("Work on this ticket has started; it can no longer be withdrawn.")}
        )
    reason = (reason or "").strip()
    services.record_audit(ticket, actor, "withdrawn", {"reason": reason or "–"})
    return services.transition(ticket, actor, Status.CLOSED, note=reason)


may_withdraw = workflow.may_withdraw


# --- satisfaction -----------------------------------------------------------------------------


def may_rate(ticket, user) -> bool:
    """The reporter of a closed ticket that was worked on, once."""
    return (
        user is not None
        and ticket.reporter_id == user.pk
        and ticket.status == Status.CLOSED
        and ticket.responded_at is not None
        and not SatisfactionRating.objects.filter(ticket=ticket).exists()
    )


@transaction.atomic
def rate(ticket: Ticket, actor, score, comment: str = "", *, now=None) -> SatisfactionRating:
    """The reporter rates a closed ticket, 1–5 with an optional comment: once per ticket, kept
    with the agent who handled it."""
    services._require_can_see(ticket, actor)
    if ticket.reporter_id != actor.pk:
        raise PermissionDenied(_("Only the reporter can rate this ticket."))
    if ticket.status != Status.CLOSED or ticket.responded_at is None:
        raise ValidationError({"score": _("A ticket can be rated once it is closed.")})
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = None
    if score not in RATING_SCORES:
        raise ValidationError({"score": _("Choose a rating from 1 to 5.")})
    comment = (comment or "").strip()
    if len(comment) > inputs.REASON_MAX:
        raise ValidationError({"comment": _("The comment is too long.")})
    if SatisfactionRating.objects.filter(ticket=ticket).exists():
        raise ValidationError({"score": _("This ticket has been rated already. Thank you!")})
    try:
        with transaction.atomic():
            rating = SatisfactionRating.objects.create(
                ticket=ticket,
                agent_id=ticket.assignee_id,
                rated_by=actor,
                score=score,
                comment=comment,
                rated_at=now or timezone.now(),
            )
    except IntegrityError:  # a concurrent second rating
        raise ValidationError(
            {"score": _("This ticket has been rated already. Thank you!")}
        ) from None
    services.record_audit(ticket, actor, "rated", {"score": [None, score]}, obj=rating)
    return rating
