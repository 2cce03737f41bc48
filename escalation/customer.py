"""What customers are told (issue 12 item 1; SPEC §3.3, §12): the reporter and the watchers of
a ticket hear of every public update, the status changes that concern them (the question of
*Waiting for customer*, a confirm/reject link when resolved, the reason of a reopen), a priority
change with its reason and the new due times, the acknowledgement of a customer escalation, and
the request to rate a closed ticket. Internal updates never leave the building.

Every message is an outbox row per (event, recipient, channel) with a unique dedup key, so it
goes out exactly once, in the recipient's language (rendered at delivery, `delivery.message_for`),
by e-mail and in the bell as the person's `NotificationPreference` says (the receipt and
*Waiting for customer* cannot be switched off). The rows for all recipients are written with
`outbox.write_many`: a constant few queries per event whatever the number of watchers.
"""

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q
from django.utils import timezone

from pim.models import CUSTOMER_ROLES, Role, User
from tickets import extensions as ticket_extensions
from tickets.models import Status, TicketWatcher

from .customer_messages import STAFF_TEMPLATE, TEMPLATE
from .models import (
    DEFAULT_PREFERENCE,
    Channel,
    CustomerEvent,
    NotificationPreference,
    NotificationStatus,
)
from .outbox import dedup_key, write_many

# Context texts are kept short: the e-mail links to the ticket for the rest.
TEXT_MAX = 4000


def _short(text):
    return (text or "").strip()[:TEXT_MAX]


def audience(ticket, extra_user_ids=()):
    """The customers told about `ticket`: its reporter, its watchers (and `extra_user_ids`),
    active, of the ticket's own organisation, with their preferences: one query."""
    watched = TicketWatcher.objects.filter(ticket_id=ticket.pk).values("user_id")
    who = Q(pk=ticket.reporter_id) | Q(pk__in=watched)
    if extra_user_ids:
        who |= Q(pk__in=list(extra_user_ids))
    return list(
        User.objects.filter(
            who,
            is_active=True,
            membership__role__in=sorted(CUSTOMER_ROLES),
            membership__organization_id=ticket.organization_id,
        )
        .select_related("notification_preference")
        .order_by("pk")
    )


def preference_of(user) -> NotificationPreference:
    try:
        return user.notification_preference
    except ObjectDoesNotExist:
        return DEFAULT_PREFERENCE


def _rows(users, ticket, event, key, context, now, channels_for=None):
    rows = []
    for user in users:
        channels = channels_for(user) if channels_for else preference_of(user).channels_for(event)
        for channel in channels:
            if channel == Channel.EMAIL and not user.email:
                continue
            in_app = channel == Channel.IN_APP
            trigger = f"{event}:{key}"
            rows.append(
                {
                    "dedup_key": dedup_key(ticket, trigger, "", user, channel),
                    "ticket": ticket,
                    "recipient": user,
                    "channel": channel,
                    "trigger": trigger[:80],
                    "level": "",
                    "template": context.get("template", TEMPLATE),
                    "context": {k: v for k, v in context.items() if k != "template"},
                    "created_at": now,
                    "status": NotificationStatus.SENT if in_app else NotificationStatus.PENDING,
                    "sent_at": now if in_app else None,
                }
            )
    return rows


def tell(
    ticket, event, key, context, *, actor=None, now=None, only=None, exclude=(), extra=(), more=()
):
    """Tell the reporter and watchers of `ticket` about `event` (once per `key`), except the
    person who caused it (`actor`) and `exclude`; `only` narrows the audience further. `more`:
    further messages to the same people, each (event, key, context, who), written with the
    first: one query for the audience and one INSERT, whatever the number of watchers.
    Returns the ids of the rows."""
    if ticket.kind == "problem":
        return []  # provider-internal (SPEC §7): its updates and status never reach customers
    now = now or timezone.now()
    people = audience(ticket, extra)

    def told(user):
        return (
            (actor is None or user.pk != actor.pk)
            and user.pk not in exclude
            and (only is None or only(user))
        )

    rows = []
    for ev, k, ctx, who in [(event, key, context, told), *more]:
        users = [u for u in people if who(u)]
        rows += _rows(users, ticket, ev, k, {"event": ev, **ctx}, now)
    return write_many(rows)


# --- the events -------------------------------------------------------------------------------


def update_posted(ticket, update):
    """A public update: told to everybody but its author."""
    context = {
        "body": _short(update.body),
        "next_actions": _short(update.next_actions),
        "expected": update.expected_resolution_at.isoformat()
        if update.expected_resolution_at
        else "",
        "author": _name(update.author),
    }
    return tell(ticket, CustomerEvent.UPDATE, f"u{update.pk}", context, actor=update.author)


def status_changed(ticket, actor, old_status, new_status, key, note=""):
    """A status change: the question of *Waiting for customer* (always sent), a confirm/reject
    request when resolved, the reason of a reopen, a closure (and the rating request)."""
    note = _short(note)
    base = {"old": old_status, "new": new_status, "note": note}
    if new_status == Status.WAITING_FOR_CUSTOMER:
        return tell(ticket, CustomerEvent.WAITING, key, base, actor=actor)
    if old_status == Status.NEW and new_status == Status.CLOSED and actor is not None:
        return withdrawn(ticket, actor, note, key)
    kind = "status"
    if new_status == Status.RESOLVED:
        kind = "resolved"
    elif old_status == Status.RESOLVED and new_status != Status.CLOSED:
        kind = "reopened"
    elif new_status == Status.CLOSED:
        kind = "closed"
    exclude = ()
    if new_status == Status.CLOSED and old_status == Status.WAITING_FOR_CUSTOMER and actor is None:
        # The waiting-for-customer rule told the reporter already ("closed_no_reaction").
        exclude = (ticket.reporter_id,)
    more = []
    if new_status == Status.CLOSED:
        # The reporter is asked once to rate a closed ticket (issue 12 item 11): one request
        # per ticket, even if it is closed again after a reopen.
        more.append(
            (
                CustomerEvent.RATING,
                "once",
                {"close_key": str(key)},
                lambda u: u.pk == ticket.reporter_id,
            )
        )
    return tell(
        ticket,
        CustomerEvent.STATUS,
        key,
        {**base, "kind": kind},
        actor=actor,
        exclude=exclude,
        more=more,
    )


def priority_changed(ticket, actor, old_priority, new_priority, at, reason=""):
    """A priority change with its reason and the new due times."""
    clocks = ticket_extensions.clock_read().clocks(ticket, at)
    due = [[c.target, c.due_at.isoformat()] for c in clocks if c.due_at and c.state != "met"]
    context = {
        "old_priority": old_priority,
        "new_priority": new_priority,
        "reason": _short(reason),
        "due": due,
    }
    key = f"p{int(at.timestamp() * 1000)}"
    return tell(ticket, CustomerEvent.PRIORITY, key, context, actor=actor)


def escalation_acknowledged(escalation, by):
    """A customer escalation was acknowledged: told to the reporter, the watchers and the
    contact who escalated."""
    extra = [escalation.raised_by_id] if escalation.raised_by_id else []
    context = {"by": _name(by), "level": escalation.level}
    return tell(
        escalation.ticket, CustomerEvent.ESCALATION, f"e{escalation.pk}", context, extra=extra
    )


def withdrawn(ticket, actor, reason, key):
    """The reporter withdrew the ticket: the agents are told (the assignee, else every agent),
    by e-mail and in the portal; the watchers are told as a status change."""
    now = timezone.now()
    if ticket.assignee_id:
        agents = list(User.objects.filter(pk=ticket.assignee_id, is_active=True))
    else:
        agents = list(User.objects.filter(membership__role=Role.AGENT, is_active=True))
    context = {"event": "withdrawn", "template": STAFF_TEMPLATE, "reason": reason}
    written = write_many(
        _rows(agents, ticket, "withdrawn", key, context, now, lambda u: list(_BOTH))
    )
    written += tell(
        ticket,
        CustomerEvent.STATUS,
        key,
        {"old": Status.NEW, "new": Status.CLOSED, "note": reason, "kind": "withdrawn"},
        actor=actor,
    )
    return written


_BOTH = (Channel.EMAIL, Channel.IN_APP)


def _name(user):
    if user is None:
        return ""
    return user.get_full_name() or user.username
