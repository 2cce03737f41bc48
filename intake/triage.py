"""Triage of held e-mail (provider staff): an agent turns a held message into a ticket for the
organisation they choose, or discards it with a reason. Each action locks the row, so two agents
cannot triage one message twice; only workers (pim.permissions.require_worker) may act.
"""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from pim.models import CUSTOMER_ROLES, Organization, User
from pim.permissions import require_worker
from tickets import services as tickets
from tickets.models import Channel

from .filing import (
    DEFAULT_PRIORITY,
    accepted_uploads,
    attach_all,
    not_kept_note,
    skipped_note,
    ticket_text,
    ticket_title,
)
from .models import InboundMessage, InboundStatus
from .parsing import ParsedMessage, parse_message
from .services import own_addresses

log = logging.getLogger(__name__)


def suggest_organization(address: str) -> int | None:
    """The organisation whose customer users share the sender's mail domain, if exactly one."""
    domain = address.rsplit("@", 1)[-1].strip().lower() if "@" in (address or "") else ""
    if not domain:
        return None
    org_ids = set(
        User.objects.filter(
            email__iendswith=f"@{domain}",
            is_active=True,
            membership__role__in=sorted(CUSTOMER_ROLES),
        ).values_list("membership__organization", flat=True)[:50]
    )
    return org_ids.pop() if len(org_ids) == 1 else None


# --- acting on a held message ---------------------------------------------------------------


class TriageError(Exception):
    """The message is no longer held: somebody triaged it first."""


def _locked_held(message_pk: int) -> InboundMessage:
    message = InboundMessage.objects.select_for_update().filter(pk=message_pk).first()
    if message is None:
        raise InboundMessage.DoesNotExist
    if message.status != InboundStatus.HELD:
        raise TriageError(_("This message has already been handled."))
    return message


def _reparse(message: InboundMessage) -> ParsedMessage:
    """The held message's files come from the stored raw message (text from the row)."""
    if message.raw:
        try:
            with message.raw.open("rb") as fh:
                return parse_message(fh.read(), own_addresses=own_addresses())
        except OSError:
            log.warning("intake: raw message of %s is gone; triaged without files", message.pk)
    return ParsedMessage(body=message.body, subject=message.subject)


@transaction.atomic
def create_ticket_from_held(
    message_pk: int,
    agent: User,
    *,
    organization: Organization,
    title: str = "",
    priority: int = DEFAULT_PRIORITY,
) -> InboundMessage:
    """An agent turns a held message into a ticket for `organization`; the agent is the actor
    (and reporter), the sender is named at the top of the description, files are attached."""
    require_worker(agent)
    with scopes_disabled():
        message = _locked_held(message_pk)
        parsed = _reparse(message)
        sender = (
            f"{message.from_name} <{message.from_address}>"
            if message.from_name
            else message.from_address
        )
        note = _("E-mail from %(sender)s, received %(received)s.") % {
            "sender": sender or "?",
            "received": timezone.localtime(message.received_at).strftime("%d-%m-%Y %H:%M"),
        }
        uploads, skipped = accepted_uploads(parsed)
        description = f"{note}\n\n{message.body or ticket_text(parsed)}{skipped_note(skipped)}"
        ticket = tickets.create_ticket(
            actor=agent,
            organization=organization,
            title=(title or "").strip()[:200] or ticket_title(parsed),
            description=description,
            priority=priority,
            channel=Channel.EMAIL,
        )
        attach_all(ticket, agent, uploads)
        message.status = InboundStatus.PROCESSED
        message.ticket = ticket
        message.triaged_by = agent
        message.triaged_at = timezone.now()
        message.set_reason(
            lambda: (
                _("Ticket %(number)s created by %(agent)s.")
                % {"number": ticket.number, "agent": agent.get_full_name() or agent.username}
                + not_kept_note(skipped)
            )
        )
        message.save()
        return message


@transaction.atomic
def discard_held(message_pk: int, agent: User, reason: str) -> InboundMessage:
    """An agent discards a held message, saying why; no ticket is made."""
    require_worker(agent)
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("Say why the message is discarded.")})
    message = _locked_held(message_pk)
    message.status = InboundStatus.IGNORED
    message.triaged_by = agent
    message.triaged_at = timezone.now()
    message.set_reason(
        lambda: (
            _("Discarded by %(agent)s: %(reason)s")
            % {"agent": agent.get_full_name() or agent.username, "reason": reason.strip()}
        )
    )
    message.save()
    return message
