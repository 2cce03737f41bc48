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
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from pim.models import Role, User
from tickets import services as tickets
from tickets.models import Channel, Kind, Status, Ticket, Visibility

from .body import strip_quoted_reply
from .models import InboundMessage, InboundStatus
from .parsing import ParsedMessage, parse_headers_only, parse_message

log = logging.getLogger(__name__)

DEFAULT_PRIORITY = 3


class UnreadableMessage(ValueError):
    """Not an RFC 5322 message at all (empty input, no header lines)."""


def _messages(exc):
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc)


def own_addresses():
    """Our own addresses: mail from them is a loop and is ignored."""
    addresses = {settings.SERVICE_DESK_ADDRESS, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]}
    return {a.lower() for a in addresses if a}


def is_readable(raw):
    """Whether `raw` looks like a message at all (for the MTA pipe's exit code)."""
    if not raw or not raw.strip():
        return False
    return parse_headers_only(raw).has_headers


# --- who sent it ----------------------------------------------------------------------------


def find_sender(address):
    """The one active user with this e-mail address (case-insensitive), or (None, reason)."""
    if not address:
        return None, _("The message has no sender address.")
    matches = list(
        User.objects.filter(email__iexact=address, is_active=True).select_related(
            "membership", "membership__organization"
        )[:2]
    )
    if not matches:
        return None, _("Unknown sender %(address)s.") % {"address": address}
    if len(matches) > 1:
        return None, _("More than one user has the address %(address)s.") % {"address": address}
    return matches[0], ""


def suggest_organization(address):
    """The organisation whose customer users share the sender's mail domain, if exactly one."""
    domain = address.rsplit("@", 1)[-1].strip().lower() if "@" in (address or "") else ""
    if not domain:
        return None
    org_ids = set(
        User.objects.filter(
            email__iendswith=f"@{domain}",
            is_active=True,
            membership__role__in=[Role.CUSTOMER_USER, Role.AUTHORISED_CONTACT],
        ).values_list("membership__organization", flat=True)[:50]
    )
    return org_ids.pop() if len(org_ids) == 1 else None


def _ticket_for_reply(parsed, user):
    """The first ticket named in the subject that `user` may see; None otherwise (a number of
    a ticket the sender may not see is treated like no number: nothing is revealed)."""
    if user is None:
        return None
    for number in parsed.ticket_numbers():
        ticket = Ticket.objects.visible_to(user).filter(number=number).first()
        if ticket is not None:
            return ticket
    return None


# --- attachments ----------------------------------------------------------------------------


def _uploads(parsed):
    """(accepted uploads, notes on the skipped ones). Checked with the portal's own rules."""
    accepted, skipped = [], []
    for attachment in parsed.attachments:
        upload = SimpleUploadedFile(attachment.filename, attachment.data, attachment.content_type)
        try:
            tickets.validate_upload(upload)
        except ValidationError as exc:
            skipped.append(f"{attachment.filename}: {_messages(exc)}")
            continue
        accepted.append(upload)
    return accepted, skipped


def _skipped_note(skipped):
    if not skipped:
        return ""
    lines = "\n".join(f"- {line}" for line in skipped)
    return "\n\n" + _("Attachments not kept:") + "\n" + lines


def _attach_all(ticket, user, uploads, update=None):
    names = []
    for upload in uploads:
        upload.seek(0)
        tickets.add_attachment(ticket, user, upload, update=update)
        names.append(upload.name)
    return names


def _attachment_summary(parsed):
    return [
        {"name": a.filename, "content_type": a.content_type, "size": a.size}
        for a in parsed.attachments
    ]


# --- the rules ------------------------------------------------------------------------------


def _text(parsed):
    if parsed.body.strip():
        return parsed.body
    if parsed.attachments:
        return _("(no text; see the attachments)")
    return _("(empty message)")


def _title(parsed):
    title = " ".join((parsed.subject or "").split())
    return (title or _("(no subject)"))[:200]


def _apply_reply(message, parsed, user, ticket):
    """A public update on `ticket` by `user`; a customer's reply while we wait for them is
    their reaction (tickets.services.add_update moves the status)."""
    uploads, skipped = _uploads(parsed)
    body = strip_quoted_reply(_text(parsed)) + _skipped_note(skipped)
    update = tickets.add_update(ticket, user, body, visibility=Visibility.PUBLIC)
    _attach_all(ticket, user, uploads, update=update)
    message.status = InboundStatus.PROCESSED
    message.ticket = ticket
    message.reason = _("Update on %(number)s.") % {"number": ticket.number}
    if skipped:
        message.reason += " " + _("Not kept: %(files)s.") % {"files": "; ".join(skipped)}


def _apply_new_ticket(message, parsed, user, note=""):
    uploads, skipped = _uploads(parsed)
    description = _text(parsed) + _skipped_note(skipped)
    if note:
        description = f"{note}\n\n{description}"
    ticket = tickets.create_ticket(
        actor=user,
        title=_title(parsed),
        description=description,
        priority=DEFAULT_PRIORITY,
        channel=Channel.EMAIL,
        kind=Kind.INCIDENT,
    )
    _attach_all(ticket, user, uploads)
    message.status = InboundStatus.PROCESSED
    message.ticket = ticket
    message.reason = _("New ticket %(number)s.") % {"number": ticket.number}
    if skipped:
        message.reason += " " + _("Not kept: %(files)s.") % {"files": "; ".join(skipped)}


def _hold(message, reason):
    message.status = InboundStatus.HELD
    message.reason = reason


def _route(message, parsed):
    """Decide and do; raises ValidationError / PermissionDenied on a business rule."""
    if parsed.is_automatic:
        message.status = InboundStatus.IGNORED
        message.reason = _("Automatic or bulk mail (%(why)s); no ticket, no reply.") % {
            "why": parsed.auto_reason
        }
        return
    if not parsed.from_address:
        message.status = InboundStatus.REJECTED
        message.reason = _("The message has no readable sender address.")
        return
    user, why = find_sender(parsed.from_address)
    message.sender = user
    if user is None:
        _hold(message, why)
        return
    # Notes that end up on the ticket are written in the sender's language.
    with translation.override(user.language or settings.LANGUAGE_CODE):
        _route_known(message, parsed, user)


def _route_known(message, parsed, user):
    ticket = _ticket_for_reply(parsed, user)
    note = ""
    if ticket is not None and ticket.status == Status.CLOSED:
        note = _("Follow-up of the closed ticket %(number)s.") % {"number": ticket.number}
        ticket = None
    if ticket is not None:
        _apply_reply(message, parsed, user, ticket)
        return
    if user.role not in (Role.CUSTOMER_USER, Role.AUTHORISED_CONTACT):
        _hold(
            message,
            _("Sent by provider staff (%(address)s) without a ticket number they can see.")
            % {"address": parsed.from_address},
        )
        return
    organization = user.membership.organization
    if organization is None or not organization.is_active:
        _hold(message, _("The sender's organisation is not active."))
        return
    _apply_new_ticket(message, parsed, user, note=note)


# --- storing --------------------------------------------------------------------------------


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


def _store_rejected(parsed, raw, digest, reason, *, store_raw=True):
    message = None
    try:
        with transaction.atomic():
            message = _new_row(parsed, raw, digest, store_raw=store_raw)
            message.status = InboundStatus.REJECTED
            message.reason = reason[:2000]
            message.save()
            return message
    except IntegrityError:
        _delete_raw(message)
        return _existing(parsed.message_id, digest)


def ingest(raw):
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
            reason = _("The message is too large (%(size)s); the limit is %(limit)s.") % {
                "size": filesizeformat(len(raw)),
                "limit": filesizeformat(settings.INTAKE_MAX_MESSAGE_BYTES),
            }
            return _store_rejected(parsed, raw, digest, reason, store_raw=False)

        parsed = parse_message(raw, own_addresses=own_addresses())
        existing = _existing(parsed.message_id, digest)
        if existing is not None:
            return existing
        if not parsed.has_headers:
            return _store_rejected(
                parsed, raw, digest, _("Not an e-mail message: no header lines.")
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
            reason = _("Could not store the message.")
        except (ValidationError, PermissionDenied) as exc:
            _delete_raw(message)
            reason = _messages(exc) or _("Refused by a business rule.")
        except (OperationalError, InterfaceError):
            _delete_raw(message)
            raise  # the database is unavailable: let the MTA / the poller try again later
        except Exception as exc:  # noqa: BLE001 - bad input never raises out of the intake
            log.exception("intake: unexpected error for message %s", parsed.message_id)
            _delete_raw(message)
            reason = _("Unexpected error: %(error)s") % {"error": f"{type(exc).__name__}: {exc}"}
        return _store_rejected(parsed, raw, digest, reason)


# --- triage ---------------------------------------------------------------------------------


class TriageError(Exception):
    pass


def _locked_held(message_pk):
    message = InboundMessage.objects.select_for_update().filter(pk=message_pk).first()
    if message is None:
        raise InboundMessage.DoesNotExist
    if message.status != InboundStatus.HELD:
        raise TriageError(_("This message has already been handled."))
    return message


def _reparse(message):
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
    message_pk, agent, *, organization, title="", priority=DEFAULT_PRIORITY
):
    """An agent turns a held message into a ticket for `organization`; the agent is the actor
    (and reporter), the sender is named at the top of the description, files are attached."""
    if not agent.is_worker:
        raise PermissionDenied(_("Only service desk staff may do this."))
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
        uploads, skipped = _uploads(parsed)
        description = f"{note}\n\n{message.body or _text(parsed)}{_skipped_note(skipped)}"
        ticket = tickets.create_ticket(
            actor=agent,
            organization=organization,
            title=(title or "").strip()[:200] or _title(parsed),
            description=description,
            priority=priority,
            channel=Channel.EMAIL,
        )
        _attach_all(ticket, agent, uploads)
        message.status = InboundStatus.PROCESSED
        message.ticket = ticket
        message.triaged_by = agent
        message.triaged_at = timezone.now()
        message.reason = _("Ticket %(number)s created by %(agent)s.") % {
            "number": ticket.number,
            "agent": agent.get_full_name() or agent.username,
        } + (" " + _("Not kept: %(files)s.") % {"files": "; ".join(skipped)} if skipped else "")
        message.save()
        return message


@transaction.atomic
def discard_held(message_pk, agent, reason):
    if not agent.is_worker:
        raise PermissionDenied(_("Only service desk staff may do this."))
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("Say why the message is discarded.")})
    message = _locked_held(message_pk)
    message.status = InboundStatus.IGNORED
    message.triaged_by = agent
    message.triaged_at = timezone.now()
    message.reason = (
        _("Discarded by %(agent)s: %(reason)s")
        % {"agent": agent.get_full_name() or agent.username, "reason": reason.strip()}
    )[:2000]
    message.save()
    return message
