"""E-mail intake: one received message in, one InboundMessage row out (SPEC §12, issue 7 item 5).

    auto-reply / bounce / bulk / list mail  → ignored (nothing else happens: no ticket, no reply)
    subject names a ticket the sender sees  → public update on that ticket (+ attachments)
    known sender (one active user)          → new incident in their organisation (+ attachments)
    unknown or ambiguous sender             → held for triage by an agent

Every ticket write goes through tickets.services, so numbering, audit, SLA clocks and the
receipt notification are the same as in the portal. Each message is handled in one transaction;
bad input never raises out of `ingest` (it is stored as rejected, with the reason). Only an
infrastructure failure (the database is gone) raises, so the caller can try again later.

The raw message is kept as a file in the default storage, not in a BinaryField: messages carry
attachments up to ATTACHMENT_MAX_BYTES each, and megabytes of blobs in the ticket database make
every backup, replica and `SELECT *` pay for them. Attachments already live in that storage; the
raw file sits next to them, outside the web root, and is only read back to triage a held message.
Messages over INTAKE_MAX_MESSAGE_BYTES are rejected without storing the raw bytes.
"""

import hashlib
import logging
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from pim.models import CUSTOMER_ROLES, User
from pim.permissions import is_customer
from tickets import participation
from tickets import services as tickets
from tickets.models import Channel, Kind, Status, Ticket, Visibility

from .body import strip_quoted_reply
from .filing import (
    DEFAULT_PRIORITY,
    accepted_uploads,
    attach_all,
    error_text,
    not_kept_note,
    skipped_note,
    ticket_text,
    ticket_title,
)
from .models import InboundMessage, InboundStatus
from .parsing import ParsedMessage, parse_headers_only, parse_message

log = logging.getLogger(__name__)


class UnreadableMessage(ValueError):
    """Not an RFC 5322 message at all (empty input, no header lines)."""


def own_addresses() -> set[str]:
    """Our own addresses: mail from them is a loop and is ignored."""
    addresses = {settings.SERVICE_DESK_ADDRESS, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]}
    return {a.lower() for a in addresses if a}


def is_readable(raw: bytes) -> bool:
    """Whether `raw` looks like a message at all (for the MTA pipe's exit code)."""
    if not raw or not raw.strip():
        return False
    return parse_headers_only(raw).has_headers


# --- who sent it ----------------------------------------------------------------------------


def find_sender(address: str) -> tuple[User | None, str]:
    """The one active user with this e-mail address (case-insensitive), or (None, reason)."""
    if not address:
        return None, lambda: _("The message has no sender address.")
    matches = list(
        User.objects.filter(email__iexact=address, is_active=True).select_related(
            "membership", "membership__organization"
        )[:2]
    )
    if not matches:
        return None, lambda: _("Unknown sender %(address)s.") % {"address": address}
    if len(matches) > 1:
        return (
            None,
            lambda: _("More than one user has the address %(address)s.") % {"address": address},
        )
    return matches[0], None


def _ticket_for_reply(parsed: ParsedMessage, user: User | None) -> Ticket | None:
    """The first ticket named in the subject that `user` may see; None otherwise (a number of
    a ticket the sender may not see is treated like no number: nothing is revealed)."""
    if user is None:
        return None
    for number in parsed.ticket_numbers():
        ticket = Ticket.objects.visible_to(user).filter(number=number).first()
        if ticket is not None:
            return ticket
    return None


# --- the rules ------------------------------------------------------------------------------


def _apply_reply(
    message: InboundMessage, parsed: ParsedMessage, user: User, ticket: Ticket
) -> None:
    """A public update on `ticket` by `user`; a customer's reply while we wait for them is
    their reaction (tickets.services.add_update moves the status)."""
    uploads, skipped = accepted_uploads(parsed)
    body = strip_quoted_reply(ticket_text(parsed)) + skipped_note(skipped)
    update = tickets.add_update(ticket, user, body, visibility=Visibility.PUBLIC)
    attach_all(ticket, user, uploads, update=update)
    _add_cc_watchers(ticket, parsed, user)
    message.status = InboundStatus.PROCESSED
    message.ticket = ticket
    message.set_reason(
        lambda: _("Update on %(number)s.") % {"number": ticket.number} + not_kept_note(skipped)
    )


def _apply_new_ticket(
    message: InboundMessage, parsed: ParsedMessage, user: User, note: str = ""
) -> None:
    """A new incident in the sender's organisation, reported by the sender."""
    uploads, skipped = accepted_uploads(parsed)
    description = ticket_text(parsed) + skipped_note(skipped)
    if note:
        description = f"{note}\n\n{description}"
    ticket = tickets.create_ticket(
        actor=user,
        title=ticket_title(parsed),
        description=description,
        priority=DEFAULT_PRIORITY,
        channel=Channel.EMAIL,
        kind=Kind.INCIDENT,
    )
    attach_all(ticket, user, uploads)
    _add_cc_watchers(ticket, parsed, user)
    message.status = InboundStatus.PROCESSED
    message.ticket = ticket
    message.set_reason(
        lambda: _("New ticket %(number)s.") % {"number": ticket.number} + not_kept_note(skipped)
    )


def _add_cc_watchers(ticket: Ticket, parsed: ParsedMessage, sender: User) -> list[User]:
    """Known, active customers of the ticket's organisation in Cc become watchers (issue 12);
    other addresses are ignored (nothing is revealed about them)."""
    addresses = [a for a in parsed.cc_addresses if a not in own_addresses()]
    if not addresses:
        return []
    any_address = Q()
    for address in addresses:
        any_address |= Q(email__iexact=address)
    colleagues = (
        User.objects.filter(
            any_address,
            is_active=True,
            membership__organization_id=ticket.organization_id,
            membership__role__in=sorted(CUSTOMER_ROLES),
        )
        .exclude(pk__in=[sender.pk, ticket.reporter_id])
        .select_related("membership")
    )
    added = []
    for colleague in colleagues:
        _watcher, created = participation.add_watcher(ticket, None, colleague)
        if created:
            added.append(colleague)
    return added


def _hold(message, render):
    """Held for triage; `render()` says why (in each language)."""
    message.status = InboundStatus.HELD
    message.set_reason(render)


def _route(message: InboundMessage, parsed: ParsedMessage) -> None:
    """Decide and do; raises ValidationError / PermissionDenied on a business rule."""
    if parsed.is_automatic:
        message.status = InboundStatus.IGNORED
        message.set_reason(
            lambda: (
                _("Automatic or bulk mail (%(why)s); no ticket, no reply.")
                % {"why": parsed.auto_reason}
            )
        )
        return
    if not parsed.from_address:
        message.status = InboundStatus.REJECTED
        message.set_reason(lambda: _("The message has no readable sender address."))
        return
    user, why = find_sender(parsed.from_address)
    message.sender = user
    if user is None:
        _hold(message, why)
        return
    # Notes that end up on the ticket are written in the sender's language.
    with translation.override(user.language or settings.LANGUAGE_CODE):
        _route_known(message, parsed, user)


def _route_known(message: InboundMessage, parsed: ParsedMessage, user: User) -> None:
    """A known sender: a reply to a ticket they see, else a new ticket if they are a customer
    of an active organisation; anything else is held."""
    ticket = _ticket_for_reply(parsed, user)
    note = ""
    if ticket is not None and ticket.status == Status.CLOSED:
        note = _("Follow-up of the closed ticket %(number)s.") % {"number": ticket.number}
        ticket = None
    if ticket is not None:
        _apply_reply(message, parsed, user, ticket)
        return
    if not is_customer(user):
        _hold(
            message,
            lambda: (
                _("Sent by provider staff (%(address)s) without a ticket number they can see.")
                % {"address": parsed.from_address}
            ),
        )
        return
    organization = user.membership.organization
    if organization is None or not organization.is_active:
        _hold(message, lambda: _("The sender's organisation is not active."))
        return
    _apply_new_ticket(message, parsed, user, note=note)


# --- storing --------------------------------------------------------------------------------


def _attachment_summary(parsed: ParsedMessage) -> list[dict]:
    return [
        {"name": a.filename, "content_type": a.content_type, "size": a.size}
        for a in parsed.attachments
    ]


def _existing(message_id, digest):
    if message_id:
        found = InboundMessage.objects.filter(message_id=message_id).first()
    else:
        found = InboundMessage.objects.filter(message_id__isnull=True, digest=digest).first()
    if found is not None:
        found.duplicate = True  # for the caller's report; nothing was done again
    return found


def _new_row(parsed, raw, digest, *, store_raw=True):
    message = InboundMessage(
        message_id=parsed.message_id or None,
        digest=digest,
        in_reply_to=parsed.in_reply_to[:255],
        from_address=parsed.from_address[:254],
        from_name=parsed.from_name[:200],
        subject=(parsed.subject or "")[:300],
        body=parsed.body,
        attachments=_attachment_summary(parsed),
        sent_at=parsed.date,
        received_at=timezone.now(),
        raw_size=len(raw),
    )
    if store_raw and raw:
        message.raw.save("message.eml", ContentFile(raw), save=False)
    return message


def _delete_raw(message):
    if message is not None and message.raw and message.raw.name:
        try:
            default_storage.delete(message.raw.name)
        except OSError:
            log.warning("intake: could not delete %s", message.raw.name)


def _store_rejected(parsed, raw, digest, render, *, store_raw=True):
    """Rejected; `render()` says why (in each language)."""
    message = None
    try:
        with transaction.atomic():
            message = _new_row(parsed, raw, digest, store_raw=store_raw)
            message.status = InboundStatus.REJECTED
            message.set_reason(render)
            message.save()
            return message
    except IntegrityError:
        _delete_raw(message)
        return _existing(parsed.message_id, digest)


def ingest(raw: bytes | str) -> InboundMessage:
    """Handle one received message (bytes). Returns its InboundMessage (the existing one when
    the same message was ingested before: nothing happens twice)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    raw = bytes(raw or b"")
    digest = hashlib.sha256(raw).hexdigest()
    with scopes_disabled():  # a system job: visible_to() below does the tenant filtering
        if len(raw) > settings.INTAKE_MAX_MESSAGE_BYTES:
            parsed = parse_headers_only(raw)
            existing = _existing(parsed.message_id, digest)
            if existing is not None:
                return existing
            size = len(raw)

            def reason():
                return _("The message is too large (%(size)s); the limit is %(limit)s.") % {
                    "size": filesizeformat(size),
                    "limit": filesizeformat(settings.INTAKE_MAX_MESSAGE_BYTES),
                }

            return _store_rejected(parsed, raw, digest, reason, store_raw=False)

        parsed = parse_message(raw, own_addresses=own_addresses())
        existing = _existing(parsed.message_id, digest)
        if existing is not None:
            return existing
        if not parsed.has_headers:
            return _store_rejected(
                parsed, raw, digest, lambda: _("Not an e-mail message: no header lines.")
            )

        message = None
        try:
            with transaction.atomic():
                message = _new_row(parsed, raw, digest)
                message.status = InboundStatus.REJECTED  # until routed
                # Insert first: the unique Message-ID makes a concurrent twin wait and fail here.
                message.save()
                _route(message, parsed)
                message.reason = message.reason[:2000]
                message.save()
                return message
        except IntegrityError:
            _delete_raw(message)
            existing = _existing(parsed.message_id, digest)
            if existing is not None:
                return existing
            reason = lambda: _("Could not store the message.")  # noqa: E731
        except (ValidationError, PermissionDenied) as exc:
            _delete_raw(message)
            refusal = error_text(exc)  # the service's own words, in the language of the moment
            reason = lambda: refusal or _("Refused by a business rule.")  # noqa: E731
        except (OperationalError, InterfaceError):
            _delete_raw(message)
            raise  # the database is unavailable: let the MTA / the poller try again later
        except Exception as exc:  # noqa: BLE001 - bad input never raises out of the intake
            log.exception("intake: unexpected error for message %s", parsed.message_id)
            _delete_raw(message)
            error = f"{type(exc).__name__}: {exc}"
            reason = lambda: _("Unexpected error: %(error)s") % {"error": error}  # noqa: E731
        return _store_rejected(parsed, raw, digest, reason)
