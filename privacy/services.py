"""Retention: a closed ticket's personal data is anonymised once PERSONAL_DATA_RETENTION_DAYS
have passed since it closed; e-mail that never became a ticket after the same period.

What happens to a ticket (docs/security.md, "Personal data"):

- reporter → the organisation's anonymous placeholder (an inactive account without e-mail);
  escalations raised by a customer → raised by nobody, their reason removed;
- the description, and every update a customer wrote (text and author), are removed;
- text written by staff (title, updates, resolution, priority reasons, escalation reasons) is
  kept for the service history, with e-mail addresses and phone numbers masked; a customer's
  priority choice keeps the priority, by the placeholder;
- attachment files are deleted (with their rows and cached thumbnails), and so are the raw
  e-mails of the intake with their sender, subject and text;
- the audit trail keeps who-did-what for staff, with customers' names and texts masked;
- the outbox (notification and webhook delivery log) of the ticket is deleted;
- a change request's texts like an incident's: the requester's "why" is removed, a decision of
  a customer on the change, quote or RFC is by the placeholder with its note removed, the
  provider's texts (type reason, decisions' notes, cancel reason) are kept masked; a cancel
  reason that came from the customer (a withdrawal) is removed. Its documents' files go with
  the ticket's attachments.

Staff accounts stay on tickets: their work is the provider's record (employment data, not the
customer's). Open tickets are never touched. Files are deleted after the transaction commits.
"""

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from changes.models import ChangeApproval, ChangeRequest
from escalation.models import Escalation, Notification
from intake.models import InboundMessage
from pim import thumbnails
from pim.models import CUSTOMER_ROLES, Membership, Role, User
from reviews.models import PostIncidentReview, ReviewAction
from reviews.services import TEXTS as REVIEW_TEXTS
from tickets.models import Attachment, AuditEntry, PriorityChange, Status, Ticket, TicketUpdate
from tickets.services import record_audit

from .models import AnonymisedTicket, PrivacyAction, PrivacyEvent

log = logging.getLogger(__name__)

BATCH = 200
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Dutch numbers (06-12345678, 020 123 4567) and international ones (+31 6 1234 5678,
# 0031 20 …): a 0 or +/00 prefix, then 8–12 digits with optional spaces or dashes. Dates
# (2026-11-25), times and ticket numbers (INC-2026-00001) do not match.
PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)\d{1,3}[\s-]?(?:\(0\)[\s-]?)?\d(?:[\s-]?\d){6,11}|0\d(?:[\s-]?\d){8})(?!\w)"
)
# Audit changes whose values are a customer's words or name.
PERSONAL_CHANGE_KEYS = frozenset(
    {"description", "reporter", "file", "body", "next_actions", "reason", "from", "subject"}
)


def removed_text():
    """The text that replaces removed personal data, in the portal's default language."""
    with translation.override(settings.LANGUAGE_CODE):
        return _("[removed: personal data retention]")


def mask(text):
    """`text` with e-mail addresses and phone numbers masked."""
    if not text:
        return text
    with translation.override(settings.LANGUAGE_CODE):
        text = EMAIL.sub(_("[e-mail address]"), text)
        return PHONE.sub(_("[phone number]"), text)


def retention_cutoff(now=None):
    return (now or timezone.now()) - timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS)


def placeholder_for(organization):
    """The organisation's anonymous reporter: inactive, no e-mail, no password."""
    username = f"anonymous-{organization.pk}"
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user
    with translation.override(settings.LANGUAGE_CODE):
        first_name = _("Anonymous")
    user = User(username=username, first_name=first_name, email="", is_active=False)
    user.set_unusable_password()
    user.save()
    Membership.objects.create(user=user, role=Role.CUSTOMER_USER, organization=organization)
    return user


def is_customer(user):
    return user is not None and user.role in CUSTOMER_ROLES


def _delete_file_after_commit(name):
    def delete():
        try:
            default_storage.delete(name)
        except OSError:
            log.warning("privacy: could not delete %s", name)

    if name:
        transaction.on_commit(delete)


def _mask_changes(changes):
    masked = {}
    for key, value in changes.items():
        values = value if isinstance(value, list) else [value]
        if key in PERSONAL_CHANGE_KEYS:
            values = [None if v is None else removed_text() for v in values]
        else:
            values = [mask(v) if isinstance(v, str) else v for v in values]
        masked[key] = values if isinstance(value, list) else values[0]
    return masked


def _anonymise_inbound(message):
    if message.raw:
        _delete_file_after_commit(message.raw.name)
    message.raw = ""
    message.raw_size = 0
    message.from_address = ""
    message.from_name = ""
    message.subject = removed_text() if message.subject else ""
    message.body = ""
    message.attachments = []
    message.sender = None
    message.reason = mask(message.reason)  # "Unknown sender <address>"
    message.reason_i18n = {code: mask(text) for code, text in (message.reason_i18n or {}).items()}
    message.save()


def _scrub_reasons(rows, person, stand_in):
    """Rows with a person and a free-text `reason`: a customer's person becomes `stand_in` and
    their reason is removed; staff keep theirs with addresses and numbers masked."""
    for row in rows.select_related(f"{person}__membership"):
        if is_customer(getattr(row, person)):
            setattr(row, person, stand_in)
            row.reason = removed_text() if row.reason else ""
        else:
            row.reason = mask(row.reason)
        row.save(update_fields=[person, "reason"])


def _anonymise_review(ticket, placeholder):
    """A P1's post-incident review is service history written by staff: kept, masked; an
    action a customer owned passes to the placeholder."""
    for review in PostIncidentReview.objects.filter(ticket=ticket):
        for name in REVIEW_TEXTS:
            setattr(review, name, mask(getattr(review, name)))
        review.save(update_fields=list(REVIEW_TEXTS))
    for action in ReviewAction.objects.filter(review__ticket=ticket).select_related(
        "owner__membership"
    ):
        action.description = mask(action.description)
        if is_customer(action.owner):
            action.owner = placeholder
        action.save(update_fields=["description", "owner"])


def anonymise_ticket(ticket, event, now):
    """Remove one closed ticket's personal data (see the module docstring)."""
    placeholder = placeholder_for(ticket.organization)
    for update in TicketUpdate.objects.filter(ticket=ticket).select_related("author__membership"):
        if is_customer(update.author):
            update.author = placeholder
            update.body = removed_text()
            update.next_actions = ""
        else:
            update.body, update.next_actions = mask(update.body), mask(update.next_actions)
        update.save(update_fields=["author", "body", "next_actions"])
    for attachment in Attachment.objects.filter(ticket=ticket):
        _delete_file_after_commit(attachment.file.name)
        pk, name = attachment.pk, attachment.file.name
        transaction.on_commit(lambda pk=pk, name=name: thumbnails.forget(pk, name))
        attachment.delete()
    _scrub_reasons(PriorityChange.objects.filter(ticket=ticket), "changed_by", placeholder)
    _scrub_reasons(Escalation.objects.filter(ticket=ticket), "raised_by", None)
    for entry in AuditEntry.objects.filter(ticket=ticket).select_related("actor__membership"):
        entry.changes = _mask_changes(entry.changes or {})
        if is_customer(entry.actor):
            entry.actor = placeholder
        entry.save(update_fields=["changes", "actor"])
    for message in InboundMessage.objects.filter(ticket=ticket):
        _anonymise_inbound(message)
    _anonymise_review(ticket, placeholder)
    Notification.objects.filter(ticket=ticket).delete()
    _anonymise_change(ticket, placeholder)
    ticket.reporter = placeholder
    ticket.description = removed_text()
    ticket.title = mask(ticket.title)
    for field in ("resolution_cause", "resolution_how", "resolution_follow_up"):
        setattr(ticket, field, mask(getattr(ticket, field)))
    ticket.sla_not_applicable_reason = mask(ticket.sla_not_applicable_reason)
    ticket.save()
    AnonymisedTicket.objects.create(ticket=ticket, at=now, event=event)
    record_audit(ticket, event.actor, "anonymised", {"privacy_event": [None, event.pk]})


def _anonymise_change(ticket, placeholder):
    change = ChangeRequest.objects.filter(ticket=ticket).first()
    if change is None:
        return
    for approval in ChangeApproval.objects.filter(change=change).select_related("by__membership"):
        if is_customer(approval.by):
            approval.by = placeholder
            approval.note = removed_text() if approval.note else ""
        else:
            approval.note = mask(approval.note)
        approval.save(update_fields=["by", "note"])
    cancelled_by_staff = AuditEntry.objects.filter(ticket=ticket, action="change_cancel").exists()
    change.why = removed_text() if change.why else ""
    change.type_reason = mask(change.type_reason)
    if cancelled_by_staff:
        change.cancel_reason = mask(change.cancel_reason)
    else:  # closed by a withdrawal: the customer's words
        change.cancel_reason = removed_text() if change.cancel_reason else ""
    change.save(update_fields=["why", "type_reason", "cancel_reason", "updated_at"])


def due_tickets(cutoff):
    return (
        Ticket.objects.filter(status=Status.CLOSED, closed_at__lt=cutoff)
        .exclude(pk__in=AnonymisedTicket.objects.values("ticket_id"))
        .select_related("organization", "reporter__membership")
        .order_by("closed_at", "pk")
    )


def due_inbound(cutoff):
    """E-mail that never became a ticket, received before the cutoff, not yet anonymised."""
    return (
        InboundMessage.objects.filter(ticket__isnull=True, received_at__lt=cutoff)
        .exclude(from_address="", raw="", body="")
        .order_by("received_at", "pk")
    )


def _event(action, now, *, actor=None, via, subject=None, details=None):
    return PrivacyEvent.objects.create(
        action=action,
        at=now,
        actor=actor,
        via=via,
        subject=subject,
        subject_label=subject.get_username() if subject is not None else "",
        details=details or {},
    )


@scopes_disabled()
def anonymise_expired(now=None, *, actor=None, via="beat", dry_run=False):
    """Anonymise what the retention period has passed for; returns (ticket numbers, messages).

    One transaction per batch; a run that stops half-way is continued by the next one."""
    now = now or timezone.now()
    cutoff = retention_cutoff(now)
    if dry_run:
        numbers = list(due_tickets(cutoff).values_list("number", flat=True))
        return numbers, due_inbound(cutoff).count()
    numbers, messages = [], 0
    while True:
        with transaction.atomic():
            tickets = list(due_tickets(cutoff)[:BATCH])
            inbound = list(due_inbound(cutoff).select_for_update()[:BATCH])
            if not tickets and not inbound:
                break
            event = _event(
                PrivacyAction.ANONYMISED,
                now,
                actor=actor,
                via=via,
                details={
                    "retention_days": settings.PERSONAL_DATA_RETENTION_DAYS,
                    "closed_before": cutoff.isoformat(),
                    "tickets": [t.number for t in tickets],
                    "inbound_messages": [m.pk for m in inbound],
                },
            )
            for ticket in tickets:
                anonymise_ticket(ticket, event, now)
            for message in inbound:
                _anonymise_inbound(message)
        numbers += [t.number for t in tickets]
        messages += len(inbound)
    if numbers or messages:
        log.info("privacy: anonymised %s tickets and %s e-mails", len(numbers), messages)
    return numbers, messages


@scopes_disabled()
@transaction.atomic
def erase_person(person, *, actor=None, via, now=None):
    """An erasure request: anonymise every closed ticket `person` reported or wrote on, and
    their e-mail that never became a ticket, whatever their age. Open tickets keep their data
    until they close (the service is still being delivered); returns (tickets, messages, open)."""
    now = now or timezone.now()
    mine = (
        Ticket.objects.filter(reporter=person)
        | Ticket.objects.filter(updates__author=person)
        | Ticket.objects.filter(escalations__raised_by=person)
        | Ticket.objects.filter(audit_entries__actor=person)
    ).distinct()
    closed = list(
        mine.filter(status=Status.CLOSED)
        .exclude(pk__in=AnonymisedTicket.objects.values("ticket_id"))
        .select_related("organization", "reporter__membership")
    )
    still_open = sorted(mine.exclude(status=Status.CLOSED).values_list("number", flat=True))
    inbound = list(InboundMessage.objects.filter(sender_filter(person), ticket__isnull=True))
    event = _event(
        PrivacyAction.ERASED,
        now,
        actor=actor,
        via=via,
        subject=person,
        details={
            "tickets": [t.number for t in closed],
            "inbound_messages": [m.pk for m in inbound],
            "open_tickets_kept": still_open,
        },
    )
    for ticket in closed:
        anonymise_ticket(ticket, event, now)
    for message in inbound:
        _anonymise_inbound(message)
    return [t.number for t in closed], len(inbound), still_open


def sender_filter(person):
    """Inbound e-mail from `person`: linked to their account, or from their address."""
    query = Q(sender=person)
    if person.email:
        query |= Q(from_address__iexact=person.email)
    return query
