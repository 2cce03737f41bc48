"""The status state machine of SPEC §3.2 and who may move a ticket, as one table."""

from django.utils.translation import gettext_lazy as _

from pim.models import CUSTOMER_ROLES, WORKER_ROLES

from .models import Status as S

WORKER = "worker"  # agent, on-call engineer, admin
CUSTOMER = "customer"  # the reporter (customer user) or an authorised contact of the organisation
SYSTEM = "system"  # automatic rules (reminders, auto-close); never a person

BY_WORKER = frozenset({WORKER})
BY_CUSTOMER = frozenset({CUSTOMER})
BY_SYSTEM = frozenset({SYSTEM})

# (from, to) -> the actors allowed to make that move. Anything absent is an illegal transition.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (S.NEW, S.PLANNED_INTERNAL): BY_WORKER,
    (S.NEW, S.PLANNED_EXTERNAL): BY_WORKER,
    (S.NEW, S.WAITING_FOR_CUSTOMER): BY_WORKER,
    (S.NEW, S.WAITING_FOR_SUPPLIER): BY_WORKER,
    (S.NEW, S.RESOLVED): BY_WORKER,
    (S.NEW, S.CLOSED): BY_CUSTOMER,  # withdrawn by its reporter before work started
    (S.PLANNED_INTERNAL, S.PLANNED_EXTERNAL): BY_WORKER,
    (S.PLANNED_INTERNAL, S.WAITING_FOR_CUSTOMER): BY_WORKER,
    (S.PLANNED_INTERNAL, S.WAITING_FOR_SUPPLIER): BY_WORKER,
    (S.PLANNED_INTERNAL, S.RESOLVED): BY_WORKER,
    # the system resumes at the wish date
    (S.PLANNED_EXTERNAL, S.PLANNED_INTERNAL): BY_WORKER | BY_SYSTEM,
    (S.PLANNED_EXTERNAL, S.WAITING_FOR_CUSTOMER): BY_WORKER,
    (S.PLANNED_EXTERNAL, S.WAITING_FOR_SUPPLIER): BY_WORKER,
    (S.PLANNED_EXTERNAL, S.RESOLVED): BY_WORKER,
    # a worker records it when the customer answered by phone
    (S.WAITING_FOR_CUSTOMER, S.RESPONSE_RECEIVED): BY_CUSTOMER | BY_WORKER,
    (S.WAITING_FOR_CUSTOMER, S.PLANNED_INTERNAL): BY_WORKER,
    (S.WAITING_FOR_CUSTOMER, S.WAITING_FOR_SUPPLIER): BY_WORKER,
    (S.WAITING_FOR_CUSTOMER, S.RESOLVED): BY_WORKER,
    (S.WAITING_FOR_CUSTOMER, S.CLOSED): BY_SYSTEM,  # repeated silence (SPEC §3.2)
    (S.RESPONSE_RECEIVED, S.PLANNED_INTERNAL): BY_WORKER,
    (S.RESPONSE_RECEIVED, S.PLANNED_EXTERNAL): BY_WORKER,
    (S.RESPONSE_RECEIVED, S.WAITING_FOR_CUSTOMER): BY_WORKER,
    (S.RESPONSE_RECEIVED, S.WAITING_FOR_SUPPLIER): BY_WORKER,
    (S.RESPONSE_RECEIVED, S.RESOLVED): BY_WORKER,
    (S.WAITING_FOR_SUPPLIER, S.PLANNED_INTERNAL): BY_WORKER,
    (S.WAITING_FOR_SUPPLIER, S.PLANNED_EXTERNAL): BY_WORKER,
    (S.WAITING_FOR_SUPPLIER, S.WAITING_FOR_CUSTOMER): BY_WORKER,
    (S.WAITING_FOR_SUPPLIER, S.RESOLVED): BY_WORKER,
    (S.RESOLVED, S.CLOSED): BY_CUSTOMER | BY_SYSTEM,  # confirmed by the customer, or automatically
    (S.RESOLVED, S.RESPONSE_RECEIVED): BY_CUSTOMER,  # "not resolved": the customer reopens
    (S.RESOLVED, S.PLANNED_INTERNAL): BY_WORKER,  # reopened by the provider
    # A change request the provider cancels closes its ticket (changes.services, with the
    # agent's reason): a system move, so no status form offers it.
    (S.PLANNED_INTERNAL, S.CLOSED): BY_SYSTEM,
    (S.PLANNED_EXTERNAL, S.CLOSED): BY_SYSTEM,
    (S.RESPONSE_RECEIVED, S.CLOSED): BY_SYSTEM,
    (S.WAITING_FOR_SUPPLIER, S.CLOSED): BY_SYSTEM,
}


# The reporter withdraws their ticket (issue 12): only they, only while no work has started.
WITHDRAWAL = (S.NEW, S.CLOSED)


def actor_class(user):
    """WORKER, CUSTOMER or None (managers read, they do not move tickets)."""
    if user is None:
        return SYSTEM
    role = user.role
    if role in WORKER_ROLES:
        return WORKER
    if role in CUSTOMER_ROLES:
        return CUSTOMER
    return None


def is_known(from_status, to_status):
    return (from_status, to_status) in TRANSITIONS


def may_withdraw(ticket, user):
    """The reporter, while the ticket is new and nobody has responded."""
    return (
        user is not None
        and ticket.reporter_id == user.pk
        and ticket.status == S.NEW
        and ticket.responded_at is None
    )


def allowed_targets(ticket, user):
    """The statuses `user` may move `ticket` to now, in table order."""
    who = actor_class(user)
    return [
        to
        for (frm, to), actors in TRANSITIONS.items()
        if frm == ticket.status
        and who in actors
        and ((frm, to) != WITHDRAWAL or may_withdraw(ticket, user))
    ]


ILLEGAL_MESSAGE = _("A ticket cannot go from “%(from)s” to “%(to)s”.")
FORBIDDEN_MESSAGE = _("You may not move a ticket from “%(from)s” to “%(to)s”.")
WITHDRAW_MESSAGE = _("Only the reporter can withdraw a ticket, and only before work has started.")
