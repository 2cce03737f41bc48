"""Filing an e-mail on a ticket: its title, its text, and the attachments the portal's own upload
rules accept (tickets.services.validate_upload); the others are named in a note, not kept.
Used by the routing of received mail (intake.services) and by triage (intake.triage).
"""

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext as _

from pim.models import User
from tickets import services as tickets
from tickets.models import Ticket, TicketUpdate

from .parsing import ParsedMessage

DEFAULT_PRIORITY = 3


def error_text(exc: Exception) -> str:
    """A refusal as one line of text (the messages of a ValidationError joined)."""
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc)


def not_kept_note(skipped: list[str]) -> str:
    """The "Not kept: …" sentence that ends an InboundMessage reason (empty: all were kept)."""
    if not skipped:
        return ""
    return " " + _("Not kept: %(files)s.") % {"files": "; ".join(skipped)}


def accepted_uploads(parsed: ParsedMessage) -> tuple[list[SimpleUploadedFile], list[str]]:
    """(accepted uploads, notes on the skipped ones). Checked with the portal's own rules."""
    accepted, skipped = [], []
    for attachment in parsed.attachments:
        upload = SimpleUploadedFile(attachment.filename, attachment.data, attachment.content_type)
        try:
            tickets.validate_upload(upload)
        except ValidationError as exc:
            skipped.append(f"{attachment.filename}: {error_text(exc)}")
            continue
        accepted.append(upload)
    return accepted, skipped


def skipped_note(skipped: list[str]) -> str:
    """The line under a ticket text that names the attachments not kept (empty: none)."""
    if not skipped:
        return ""
    lines = "\n".join(f"- {line}" for line in skipped)
    return "\n\n" + _("Attachments not kept:") + "\n" + lines


def attach_all(
    ticket: Ticket,
    user: User,
    uploads: list[SimpleUploadedFile],
    update: TicketUpdate | None = None,
) -> list[str]:
    """Attach the accepted uploads to the ticket (as `user`, under `update`); their names."""
    names = []
    for upload in uploads:
        upload.seek(0)
        tickets.add_attachment(ticket, user, upload, update=update)
        names.append(upload.name)
    return names


def ticket_text(parsed: ParsedMessage) -> str:
    """The message text for a ticket; a placeholder when it has none."""
    if parsed.body.strip():
        return parsed.body
    if parsed.attachments:
        return _("(no text; see the attachments)")
    return _("(empty message)")


def ticket_title(parsed: ParsedMessage) -> str:
    """The subject on one line, at most 200 characters; a placeholder when it has none."""
    title = " ".join((parsed.subject or "").split())
    return (title or _("(no subject)"))[:200]
