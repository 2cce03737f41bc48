"""Every write on tickets that carries a business rule. Views, the API, tasks and the admin call
these functions; none of them saves a Ticket by itself."""

import secrets
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pim import uploads
from pim.exceptions import IllegalStateChange
from pim.inputs import validate_instants
from pim.models import Membership, Role, User
from pim.permissions import is_customer, is_provider_staff, is_worker, require_worker

from . import signals, workflow
from .models import (
    INCIDENT_PRIORITIES,
    KIND_PREFIX,
    WORKAROUND_STATUSES,
    Attachment,
    AuditEntry,
    Channel,
    Kind,
    PriorityChange,
    ResolutionType,
    Status,
    SystemReason,
    Ticket,
    TicketSequence,
    TicketUpdate,
    Visibility,
)


class IllegalTransition(IllegalStateChange):
    """The ticket state machine has no such move (the API answers 409)."""


# --- helpers --------------------------------------------------------------------------------


def record_audit(ticket: Ticket, actor, action: str, changes=None, obj=None, at=None) -> AuditEntry:
    """`at`: the moment the change carries (a transition's), so the header and the audit agree."""
    return AuditEntry.objects.create(
        ticket=ticket,
        actor=actor,
        at=at or timezone.now(),
        action=action,
        object_type=obj._meta.model_name if obj is not None else "ticket",
        object_id=obj.pk if obj is not None else ticket.pk,
        changes=changes or {},
    )


def _display(value):
    if value is None:
        return None
    if hasattr(value, "pk"):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _require_can_see(ticket: Ticket, user) -> None:
    if user is not None and not Ticket.objects.visible_to(user).filter(pk=ticket.pk).exists():
        raise PermissionDenied(_("You cannot act on this ticket."))


def next_number(kind: str, year: int) -> str:
    """Hand out the next number for (kind, year) in one atomic statement.

    INSERT … ON CONFLICT DO UPDATE … RETURNING takes a row lock on PostgreSQL and runs under the
    IMMEDIATE write lock on SQLite, so concurrent creations never get the same number.
    """
    table = connection.ops.quote_name(TicketSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (kind, year, last) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (kind, year) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [kind, year],
        )
        (last,) = cursor.fetchone()
    return f"{KIND_PREFIX[kind]}-{year}-{last:05d}"


def _validate_priority(kind, priority):
    if kind == Kind.INCIDENT and priority not in INCIDENT_PRIORITIES:
        raise ValidationError({"priority": _("An incident has priority P1 to P4.")})
    if priority not in (1, 2, 3, 4, 5):
        raise ValidationError({"priority": _("Priority must be between 1 and 5.")})


def _validate_org_refs(organization, service, location):
    errors = {}
    if service is not None and service.organization_id != organization.pk:
        errors["service"] = _("This service does not belong to the organisation.")
    if location is not None and location.organization_id != organization.pk:
        errors["location"] = _("This location does not belong to the organisation.")
    if errors:
        raise ValidationError(errors)


def _mark_responded(ticket: Ticket, actor, now, *, status_follows=False) -> bool:
    """The provider starts work: the response moment (SPEC §4) is the first worker action
    (`status_follows`: the caller moves the status next, in the same write)."""
    if ticket.responded_at is None and is_worker(actor):
        ticket.responded_at = now
        signals.ticket_responded.send(
            Ticket, ticket=ticket, actor=actor, at=now, status_follows=status_follows
        )
        return True
    return False


# --- create and edit ------------------------------------------------------------------------


# The channels a worker may record for a ticket they register (the portal and the API record
# themselves: a customer's portal ticket is `portal`, anything filed through the API `api`).
WORKER_CHANNELS = (Channel.PHONE, Channel.EMAIL, Channel.CHAT, Channel.MONITORING, Channel.API)


def _filed_by(actor, organization, reporter, channel, kind=Kind.INCIDENT):
    """(organization, reporter, channel) of a new ticket: a customer files for themselves in
    their own organisation (through the portal, the API or e-mail); a worker registers one for a
    customer organisation, for a caller of that organisation (the reporter) or, without one,
    with themselves as the reporter (monitoring, integrations, e-mail triage). A manager
    registers only problems (from the incident-trend view)."""
    if actor.is_customer:
        if channel not in (Channel.PORTAL, Channel.API, Channel.EMAIL):  # also None
            channel = Channel.PORTAL
        if reporter is not None and reporter.pk != actor.pk:
            raise PermissionDenied(_("Customers file tickets for themselves."))
        return actor.membership.organization, actor, channel
    if not (actor.is_worker or (kind == Kind.PROBLEM and actor.is_provider_staff)):
        raise PermissionDenied(_("You may not file tickets."))
    if organization is None:
        raise ValidationError({"organization": _("Choose the customer organisation.")})
    if channel is None:
        channel = Channel.PHONE  # the service desk registers what was phoned in
    if channel not in WORKER_CHANNELS:
        raise ValidationError(
            {
                "channel": _("Choose how the ticket came in: %(channels)s.")
                % {"channels": ", ".join(str(Channel(c).label) for c in WORKER_CHANNELS)}
            }
        )
    if reporter is None:
        return organization, actor, channel
    if not reporter.is_customer or reporter.organization_id_or_none != organization.pk:
        raise ValidationError(
            {
                "reporter": _(
                    "%(person)s is not a person of %(organisation)s: choose a caller of the "
                    "ticket's organisation."
                )
                % {"person": reporter.username, "organisation": organization}
            }
        )
    if not reporter.is_active:
        raise ValidationError({"reporter": _("This person's account is no longer active.")})
    return organization, reporter, channel


@transaction.atomic
def add_contact(
    actor, organization, *, first_name, last_name, email, phone="", language="nl"
) -> User:
    """A caller the service desk does not know yet becomes a customer user of `organization`
    (registered while they are on the phone). They get an unguessable password: "Forgot your
    password?" lets them sign in to follow their ticket."""
    require_worker(actor)
    email = (email or "").strip()
    if not email:
        raise ValidationError({"new_email": _("The new contact needs an e-mail address.")})
    if not (first_name or last_name):
        raise ValidationError({"new_first_name": _("Give the new contact's name.")})
    existing = User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).first()
    if existing is not None:
        raise ValidationError(
            {
                "new_email": _(
                    "%(email)s already has an account (%(name)s): choose them as the caller."
                )
                % {"email": email, "name": existing.get_full_name() or existing.username}
            }
        )
    user = User(
        username=email.lower()[:150],
        email=email,
        first_name=first_name[:150],
        last_name=last_name[:150],
        language=language if language in dict(settings.LANGUAGES) else "nl",
    )
    user.set_password(secrets.token_urlsafe(32))
    user.save()
    Membership.objects.create(
        user=user, organization=organization, role=Role.CUSTOMER_USER, phone=phone[:40]
    )
    return user


def _validate_new_ticket(kind: str, title: str, description: str, priority) -> int:
    """A title, a description and a priority the kind allows; returns the priority."""
    if not title or not title.strip():
        raise ValidationError({"title": _("A title is required.")})
    if not description or not description.strip():
        raise ValidationError({"description": _("Describe the problem.")})
    priority = int(priority)
    _validate_priority(kind, priority)
    return priority


def create_ticket(
    *,
    actor,
    title: str,
    description: str,
    organization=None,
    reporter=None,
    kind=Kind.INCIDENT,
    priority=3,
    channel=None,
    service=None,
    location=None,
    reported_at=None,
) -> Ticket:
    """Register a ticket: number it, audit it, and tell the apps above (`ticket_created`: sla
    starts the clocks, escalation sends the receipt), all in one transaction after the number.

    The number is handed out first, in a statement of its own: outside a caller's transaction
    (the API) it commits at once, so registrations at the same moment wait for each other's
    numbering only, not for each other's whole registration (the counter row stays locked
    until its transaction ends). A registration that fails after that leaves its number
    unused: numbers are unique and never reused, and consecutive unless a registration
    failed. Inside a caller's transaction the number is part of it (no gap)."""
    if kind == Kind.PROBLEM and not is_provider_staff(actor):
        raise PermissionDenied(_("Problems are registered by provider staff."))
    organization, reporter, channel = _filed_by(actor, organization, reporter, channel, kind)
    priority = _validate_new_ticket(kind, title, description, priority)
    _validate_org_refs(organization, service, location)

    detected = reported_at is not None
    validate_instants(reported_at=reported_at)
    reported_at = reported_at or timezone.now()
    ticket = Ticket(
        number=next_number(kind, timezone.localtime(reported_at).year),
        kind=kind,
        title=title.strip(),
        description=description,
        priority=priority,
        channel=channel,
        organization=organization,
        service=service,
        location=location,
        reporter=reporter,
        reported_at=reported_at,
    )
    with transaction.atomic():
        signals.ticket_registering.send(Ticket, ticket=ticket, actor=actor)
        ticket.save()
        PriorityChange.objects.create(
            ticket=ticket,
            old_priority=None,
            new_priority=priority,
            reason_code=SystemReason.REGISTRATION,
            changed_by=actor,
            changed_at=reported_at,
        )
        record_audit(
            ticket,
            actor,
            "created",
            {
                "number": [None, ticket.number],
                "status": [None, ticket.status],
                "priority": [None, priority],
                "channel": [None, channel],
                "reporter": [None, _display(reporter)],
            }
            | ({"reported_at": [None, reported_at.isoformat()]} if detected else {}),
        )
        # sla starts the clocks; escalation writes the receipt and raises registration triggers
        signals.ticket_created.send(Ticket, ticket=ticket, actor=actor)
    return ticket


EDITABLE_BY_CUSTOMER = ("title", "description", "service", "location")
EDITABLE_BY_WORKER = EDITABLE_BY_CUSTOMER + ("assignee", "channel", "wish_date")


@transaction.atomic
def update_ticket(ticket: Ticket, actor, **fields) -> Ticket:
    """Edit plain fields (PATCH). Status and priority have their own services."""
    _require_can_see(ticket, actor)
    allowed = EDITABLE_BY_WORKER if is_worker(actor) else EDITABLE_BY_CUSTOMER
    if actor.is_customer and ticket.status != Status.NEW:
        raise PermissionDenied(_("A ticket can only be edited while it is new; add an update."))
    refused = sorted(set(fields) - set(allowed))
    if refused:
        raise PermissionDenied(
            _("You may not change: %(fields)s.") % {"fields": ", ".join(refused)}
        )
    assignee = fields.get("assignee")
    if assignee is not None and not is_worker(assignee):
        raise ValidationError({"assignee": _("Only service desk staff can be assigned.")})
    for name in ("title", "description"):
        if name in fields and not (fields[name] or "").strip():
            raise ValidationError({name: _("This field may not be empty.")})
    if "wish_date" in fields:
        validate_instants(wish_date=fields["wish_date"])
    _validate_org_refs(
        ticket.organization,
        fields.get("service", ticket.service),
        fields.get("location", ticket.location),
    )
    changes = {}
    for name, value in fields.items():
        old = getattr(ticket, name)
        if old != value:
            changes[name] = [_display(old), _display(value)]
            setattr(ticket, name, value)
    if changes:
        if "assignee" in changes:
            _mark_responded(ticket, actor, timezone.now())
        ticket.save()
        entry = record_audit(ticket, actor, "updated", changes)
        signals.ticket_updated.send(
            Ticket, ticket=ticket, actor=actor, changes=changes, key=f"a{entry.pk}"
        )
    return ticket


@transaction.atomic
def change_priority(ticket: Ticket, actor, priority: int, reason: str) -> Ticket:
    """Change the priority with a reason; kept in the history (SPEC §3.1)."""
    require_worker(actor)
    priority = int(priority)
    _validate_priority(ticket.kind, priority)
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("Say why the priority changes.")})
    if priority == ticket.priority:
        raise ValidationError({"priority": _("The ticket already has this priority.")})
    if not ticket.is_open:
        raise ValidationError({"priority": _("The priority of a resolved ticket cannot change.")})
    now = timezone.now()
    PriorityChange.objects.create(
        ticket=ticket,
        old_priority=ticket.priority,
        new_priority=priority,
        reason=reason.strip(),
        changed_by=actor,
        changed_at=now,
    )
    record_audit(
        ticket, actor, "priority", {"priority": [ticket.priority, priority], "reason": reason}
    )
    old_priority, ticket.priority = ticket.priority, priority
    ticket.save(update_fields=["priority", "updated_at"])
    signals.priority_changed.send(
        Ticket,
        ticket=ticket,
        actor=actor,
        old_priority=old_priority,
        new_priority=priority,
        at=now,
        reason=reason.strip(),
    )
    return ticket


@transaction.atomic
def take(ticket: Ticket, actor) -> Ticket:
    """An agent takes the ticket: assigned to them, work starts (the response moment)."""
    require_worker(actor)
    if not ticket.is_open:
        raise IllegalTransition(_("A resolved or closed ticket cannot be taken."))
    now = timezone.now()
    changes = {}
    if ticket.assignee_id != actor.pk:
        changes["assignee"] = [_display(ticket.assignee), str(actor)]
        ticket.assignee = actor
    if ticket.status == Status.NEW:
        changes["status"] = [ticket.status, Status.PLANNED_INTERNAL]
        ticket.status = Status.PLANNED_INTERNAL
    if _mark_responded(ticket, actor, now):
        changes["responded_at"] = [None, now.isoformat()]
    if changes:
        ticket.save()
        record_audit(ticket, actor, "taken", changes)
    return ticket


# --- status ---------------------------------------------------------------------------------

RESOLUTION_FIELDS = ("resolution_type", "resolution_cause", "resolution_how")
WORKAROUND_IS_NOT_A_RESOLUTION = gettext_lazy(
    "A workaround does not resolve a ticket: record it with the workaround action "
    "(…/workaround/ in the API), which keeps the ticket open, and resolve the ticket with the "
    "definitive fix."
)


def _check_move(ticket, actor, status, *, seen=False) -> None:
    """The state machine knows the move and `actor` may make it (SPEC §3.2); `seen`: the
    caller checked already that the actor sees the ticket."""
    if status not in Status.values:
        raise ValidationError({"status": _("Unknown status “%(status)s”.") % {"status": status}})
    labels = {"from": Status(ticket.status).label, "to": Status(status).label}
    if not workflow.is_known(ticket.status, status):
        raise IllegalTransition(str(workflow.ILLEGAL_MESSAGE % labels))
    if actor is not None and not seen:
        _require_can_see(ticket, actor)
    if workflow.actor_class(actor) not in workflow.TRANSITIONS[(ticket.status, status)]:
        raise PermissionDenied(str(workflow.FORBIDDEN_MESSAGE % labels))
    if (ticket.status, status) == workflow.WITHDRAWAL and not workflow.may_withdraw(ticket, actor):
        raise PermissionDenied(str(workflow.WITHDRAW_MESSAGE))


def _apply_resolution(ticket, resolution, now, changes) -> None:
    """Resolving: an incident needs type, cause and how (SPEC §3.4); the resolution time may be
    given for the past, never for the future."""
    resolution = dict(resolution or {})
    if ticket.kind == Kind.INCIDENT:
        missing = {
            f: _("Required to resolve an incident.")
            for f in RESOLUTION_FIELDS
            if not (resolution.get(f) or "").strip()
        }
        if missing:
            raise ValidationError(missing)
    if resolution.get("resolution_type") == ResolutionType.TEMPORARY:
        raise ValidationError({"resolution_type": WORKAROUND_IS_NOT_A_RESOLUTION})
    if resolution.get("resolution_type") and resolution["resolution_type"] not in (
        ResolutionType.values
    ):
        raise ValidationError({"resolution_type": _("Choose the definitive fix.")})
    resolved_at = resolution.get("resolved_at") or now
    if resolved_at > now:
        raise ValidationError({"resolved_at": _("The resolution time cannot be in the future.")})
    for field in (*RESOLUTION_FIELDS, "resolution_follow_up"):
        if field in resolution:
            changes[field] = [getattr(ticket, field), resolution[field]]
            setattr(ticket, field, resolution[field])
    ticket.resolved_at = resolved_at
    changes["resolved_at"] = [None, resolved_at.isoformat()]


def _apply_wish_date(ticket, wish_date, now, changes) -> None:
    """Planned external: the work waits for the customer's wish date, which lies ahead."""
    if wish_date is None:
        raise ValidationError({"wish_date": _("Give the customer's wish date.")})
    if wish_date <= now:
        raise ValidationError({"wish_date": _("The wish date must be in the future.")})
    ticket.wish_date = wish_date
    changes["wish_date"] = [None, wish_date.isoformat()]


@transaction.atomic
def transition(
    ticket: Ticket, actor, status: str, *, note: str = "", resolution=None, wish_date=None
) -> Ticket:
    """Move the ticket along the state machine. `actor=None` is the system."""
    return _transition(ticket, actor, status, note=note, resolution=resolution, wish_date=wish_date)


def _transition(
    ticket,
    actor,
    status,
    *,
    note="",
    resolution=None,
    wish_date=None,
    seen=False,
    note_posted=False,
):
    """`transition` inside the caller's transaction (`seen`: the actor's view was checked;
    `note_posted`: the caller recorded the note as an update already, the message carries it)."""
    _check_move(ticket, actor, status, seen=seen)
    validate_instants(resolved_at=(resolution or {}).get("resolved_at"), wish_date=wish_date)
    now = timezone.now()
    changes = {"status": [ticket.status, status]}
    if status == Status.RESOLVED:
        _apply_resolution(ticket, resolution, now, changes)
    if status == Status.PLANNED_EXTERNAL:
        _apply_wish_date(ticket, wish_date, now, changes)
    if status == Status.CLOSED:
        ticket.closed_at = now
    if ticket.status == Status.RESOLVED and status != Status.CLOSED:
        ticket.resolved_at = None  # reopened
    _mark_responded(ticket, actor, now, status_follows=True)
    old_status, ticket.status = ticket.status, status
    ticket.save()
    entry = record_audit(ticket, actor, "transition", changes, at=now)
    signals.ticket_transitioned.send(
        Ticket,
        ticket=ticket,
        actor=actor,
        old_status=old_status,
        new_status=status,
        at=now,
        key=entry.pk,
        note=(note or "").strip(),
    )
    if note and note.strip() and not note_posted:
        # The status change's message carries the note: the update is not announced again.
        record_update(ticket, actor, note, Visibility.PUBLIC, announce=False)
    return ticket


@transaction.atomic
def record_workaround(ticket: Ticket, actor, text: str, status: str) -> Ticket:
    """A workaround is in place (SPEC §4: restore is the emergency scenario): the restore clock
    stops, the ticket stays open in `status` (Planned internal or Waiting for supplier) while
    the resolution clock runs on to the definitive fix, and the customer is told the workaround
    as a public update."""
    require_worker(actor)
    _require_can_see(ticket, actor)
    if not ticket.is_open:
        raise IllegalTransition(_("A resolved or closed ticket has no workaround to record."))
    if ticket.kind != Kind.INCIDENT:
        raise ValidationError({"text": _("A workaround is recorded on incidents.")})
    if ticket.workaround_at is not None:
        raise ValidationError(
            {"text": _("A workaround is in place already; resolve the ticket with the fix.")}
        )
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Describe the workaround for the customer.")})
    if status not in WORKAROUND_STATUSES:
        raise ValidationError(
            {"status": _("Continue in “Planned internal” or “Waiting for supplier”.")}
        )
    if status != ticket.status:
        transition(ticket, actor, status)
    now = timezone.now()
    ticket.workaround_at, ticket.workaround_text = now, text
    if _mark_responded(ticket, actor, now):
        ticket.save(update_fields=["workaround_at", "workaround_text", "responded_at",
                                   "updated_at"])  # fmt: skip
    else:
        ticket.save(update_fields=["workaround_at", "workaround_text", "updated_at"])
    record_audit(ticket, actor, "workaround", {"workaround_text": [None, text]})
    signals.workaround_recorded.send(Ticket, ticket=ticket, actor=actor, at=now)
    record_update(ticket, actor, text, Visibility.PUBLIC)
    return ticket


def confirm_resolution(ticket: Ticket, actor) -> Ticket:
    """The customer confirms the resolution: the ticket is closed (SPEC §3.2)."""
    return transition(ticket, actor, Status.CLOSED)


# --- updates and attachments ----------------------------------------------------------------


def record_update(
    ticket: Ticket,
    author,
    body: str,
    visibility: str,
    next_actions: str = "",
    expected_resolution_at=None,
    announce: bool = True,
) -> TicketUpdate:
    """Write an update and its audit entry, unchecked: for the system (reminders) and for
    callers that checked already (`add_update`, a transition's note). `announce=False`: the
    customers hear of it through the event it belongs to (a status change's note)."""
    update = TicketUpdate.objects.create(
        ticket=ticket,
        author=author,
        body=body,
        visibility=visibility,
        next_actions=next_actions or "",
        expected_resolution_at=expected_resolution_at,
    )
    record_audit(ticket, author, "update", {"visibility": [None, visibility]}, obj=update)
    signals.update_posted.send(Ticket, ticket=ticket, update=update, announce=announce)
    return update


def _check_update(ticket, author, body, visibility, expected_resolution_at) -> None:
    if not body or not body.strip():
        raise ValidationError({"body": _("Write what was done or what you want to tell us.")})
    if visibility not in Visibility.values:
        raise ValidationError({"visibility": _("Choose public or internal.")})
    if author.is_customer and visibility != Visibility.PUBLIC:
        raise PermissionDenied(_("Customers cannot write internal notes."))
    if not (is_customer(author) or is_provider_staff(author)):
        raise PermissionDenied(_("You may not add updates."))
    if ticket.status == Status.CLOSED:
        raise ValidationError({"body": _("This ticket is closed; please open a new ticket.")})
    validate_instants(expected_resolution_at=expected_resolution_at)


@transaction.atomic
def add_update(
    ticket: Ticket,
    author,
    body: str,
    *,
    visibility: str = Visibility.PUBLIC,
    next_actions: str = "",
    expected_resolution_at=None,
) -> TicketUpdate:
    """A public or internal update. A customer's reply while we wait for them is their reaction."""
    _require_can_see(ticket, author)
    _check_update(ticket, author, body, visibility, expected_resolution_at)
    update = record_update(ticket, author, body, visibility, next_actions, expected_resolution_at)
    if author.is_customer and ticket.status == Status.WAITING_FOR_CUSTOMER:
        _transition(ticket, author, Status.RESPONSE_RECEIVED, seen=True)
    elif visibility == Visibility.PUBLIC and _mark_responded(ticket, author, timezone.now()):
        ticket.save(update_fields=["responded_at", "updated_at"])
    return update


# Programs by their first bytes, whatever the file is called: ELF, Mach-O (both byte orders,
# 32/64-bit, universal), and Windows/DOS (MZ followed by binary header bytes, so a CSV line
# starting with the country code "MZ" stays a CSV).
EXECUTABLE_SIGNATURES = (
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)


def _binary(data: bytes) -> bool:
    return any(b < 0x09 or 0x0E <= b < 0x20 or b >= 0x7F for b in data)


def _starts_like_a_program(uploaded_file) -> bool:
    position = uploaded_file.tell() if hasattr(uploaded_file, "tell") else 0
    uploaded_file.seek(0)
    head = uploaded_file.read(8)
    uploaded_file.seek(position)
    if head.startswith(b"MZ"):
        return _binary(head[2:])
    return head.startswith(EXECUTABLE_SIGNATURES)


def validate_upload(uploaded_file) -> None:
    ext = PurePath(uploaded_file.name or "").suffix.lower().lstrip(".")
    if ext not in settings.ATTACHMENT_ALLOWED_EXTENSIONS:
        raise ValidationError(
            {
                "file": _("Files of type “%(ext)s” are not allowed. Allowed: %(allowed)s.")
                % {"ext": ext or "?", "allowed": ", ".join(settings.ATTACHMENT_ALLOWED_EXTENSIONS)}
            }
        )
    if uploaded_file.size > settings.ATTACHMENT_MAX_BYTES:
        # The code sits on the field's error (a code passed next to a dict is dropped), so the
        # API can answer 413; sizes are shown in readable units, also for small limits.
        message = _("The file is too large (%(size)s); the limit is %(limit)s.") % {
            "size": filesizeformat(uploaded_file.size),
            "limit": uploads.readable_size(settings.ATTACHMENT_MAX_BYTES),
        }
        raise ValidationError({"file": ValidationError(message, code="too_large")})
    if _starts_like_a_program(uploaded_file):
        raise ValidationError(
            {"file": _("This file is a program, whatever its name says; programs are not allowed.")}
        )
    problem = uploads.content_problem(uploaded_file)
    if problem:
        raise ValidationError({"file": problem})


@transaction.atomic
def add_attachment(
    ticket: Ticket, uploaded_by, uploaded_file, *, update=None, internal: bool = False
) -> Attachment:
    _require_can_see(ticket, uploaded_by)
    if uploaded_by.is_customer and internal:
        raise PermissionDenied(_("Customers cannot add internal attachments."))
    if ticket.status == Status.CLOSED:
        raise ValidationError({"file": _("This ticket is closed; please open a new ticket.")})
    validate_upload(uploaded_file)
    name = PurePath(uploaded_file.name).name[:255]
    attachment = Attachment(
        ticket=ticket,
        update=update,
        uploaded_by=uploaded_by,
        original_name=name,
        content_type=(getattr(uploaded_file, "content_type", "") or "application/octet-stream")[
            :120
        ],
        size=uploaded_file.size,
        internal=internal,
    )
    attachment.file.save(name, uploaded_file, save=False)
    attachment.save()
    record_audit(ticket, uploaded_by, "attachment", {"file": [None, name]}, obj=attachment)
    return attachment


# --- the composer -----------------------------------------------------------------------------

COMPOSER_MAX_FILES = 10


@transaction.atomic
def compose(
    ticket: Ticket,
    author,
    *,
    body: str = "",
    visibility: str = Visibility.PUBLIC,
    status: str | None = None,
    files=(),
    next_actions: str = "",
    expected_resolution_at=None,
    wish_date=None,
):
    """The ticket page's composer (issue 15 item 3): a reply or internal note, an optional
    status change and any number of files in one transaction, all or nothing. Every file is
    checked (`validate_upload`) before anything is written; one refused file refuses the whole.

    The customers hear of it once: a public reply with a status change is the status change's
    note (one message, as a transition's note always is), a reply alone is an update message,
    and an internal note is never told. Files follow the note's visibility and hang on its
    update. Returns the update (None without text)."""
    _require_can_see(ticket, author)
    body = body or ""
    files = list(files)
    if status == ticket.status:
        status = None  # "unchanged"
    if not (body.strip() or status or files):
        raise ValidationError({"body": _("Write a message, choose a status or add a file.")})
    if len(files) > COMPOSER_MAX_FILES:
        raise ValidationError(
            {"files": _("At most %(count)s files at a time.") % {"count": COMPOSER_MAX_FILES}}
        )
    refused = []
    for uploaded in files:
        try:
            validate_upload(uploaded)
        except ValidationError as exc:
            name = PurePath(uploaded.name or "").name
            refused += [f"{name}: {message}" for message in exc.messages]
    if refused:
        raise ValidationError({"files": refused})
    if status:
        if status == Status.RESOLVED:
            raise ValidationError(
                {"status": _("Resolve the ticket with “Resolve”: it records the fix.")}
            )
        _check_move(ticket, author, status, seen=True)
    internal = visibility == Visibility.INTERNAL
    update = None
    if body.strip():
        if status and not internal:
            # Told with the status change below (its note), not as an update of its own.
            _check_update(ticket, author, body, visibility, expected_resolution_at)
            update = record_update(
                ticket, author, body, visibility, next_actions, expected_resolution_at,
                announce=False,
            )  # fmt: skip
        else:
            update = add_update(
                ticket,
                author,
                body,
                visibility=visibility,
                next_actions=next_actions,
                expected_resolution_at=expected_resolution_at,
            )
    for uploaded in files:
        add_attachment(ticket, author, uploaded, update=update, internal=internal)
    if status:
        note = body if (body.strip() and not internal) else ""
        _transition(
            ticket, author, status, note=note, wish_date=wish_date, seen=True, note_posted=True
        )
    return update
