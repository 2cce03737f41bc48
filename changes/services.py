"""Every write of the change path (SPEC §6, seed §5). The API, the pages and the demo call
`act(ticket, actor, action, data)`, which checks in this order: who may take the action (403,
`PermissionDenied`), whether the change's stage allows it (409, `IllegalStep` with the reason),
then the input (400, `ValidationError`), and only then writes.

Routes by type (seed §5.1, issue 16):
- standard: approved (one click of an authorised contact, or the request itself when a contact
  filed it) → done (completed) → closed;
- medium: (optional quote) → approved → planned → in progress → completed → closed;
- large: RFC approved by an authorised contact and a provider manager → planned → …;
- exceptional: verification → quote notice → quote → approval of that version → planned → ….
After a rejection the provider sends a new version or cancels. Completing resolves the ticket
(the customer confirms, or it closes automatically): the change closes with its ticket.

Small changes (seed 004 "Kleine wijzigingen", SPEC §10): the provider records an estimate
(`estimate`: minutes, and whether it is a new application or form) and its route follows:
- under 45 minutes (direct): the work is done at once, without a prior approval, and put on
  the acceptance environment (`offer`); an authorised contact approves the result (or rejects
  it: it is reworked and offered again) and only then is it delivered to production
  (`complete`);
- 45 minutes up to 4 hours (estimate): the estimate is sent as a document of kind `estimate`
  that an authorised contact approves or rejects like a quote; the work starts after that;
- over 4 hours, a new application or form, or a large or exceptional change (quote): only the
  quote (or RFC) path; approving the change without one, or starting before it is approved,
  is refused.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from pim.exceptions import IllegalStateChange
from pim.inputs import validate_instants
from pim.models import MANAGER_ROLES
from pim.permissions import is_authorised_contact, is_worker, require
from sla import services as sla_services
from sla.engine import calendar_days_later
from sla.models import ClockEvent
from tickets import services as ticket_services
from tickets.models import Attachment, Kind, Status, Ticket, Visibility

from . import notifications, signals
from .models import (
    ESTIMATE_MAX,
    FINISHED_STAGES,
    ApprovalSubject,
    ChangeApproval,
    ChangeDocument,
    ChangeRequest,
    ChangeType,
    Decision,
    DocumentKind,
    DocumentStatus,
    Route,
    Side,
    Stage,
    route_for,
)


class IllegalStep(IllegalStateChange):
    """The change's stage does not allow this action now (the API answers 409)."""


S = Stage
WORKER_ACTIONS = (
    "classify", "estimate", "verify", "quote_notice", "quote", "plan", "start", "progress",
    "offer", "complete", "cancel",
)  # fmt: skip
CUSTOMER_ACTIONS = ("approve", "reject")
MANAGER_ACTIONS = ("provider_approve", "provider_reject")
ACTIONS = WORKER_ACTIONS + CUSTOMER_ACTIONS + MANAGER_ACTIONS
# Before a quote or RFC is sent: classification and verification.
BEFORE_QUOTE = (S.CLASSIFIED, S.VERIFICATION)
# A quote, RFC or estimate waits for a decision.
DECIDING = (S.QUOTED, S.ESTIMATED)
# The estimate may be recorded (again) until the work is approved.
ESTIMABLE = (*BEFORE_QUOTE, S.ESTIMATED, S.REJECTED)
# Before the customer accepted the estimate of a change on the estimate route.
BEFORE_ACCEPTED_ESTIMATE = (*BEFORE_QUOTE, S.ESTIMATED, S.REJECTED)
# A change on the direct route may start (and be offered) in these stages: no prior approval.
DIRECT_START = (*BEFORE_QUOTE, S.APPROVED, S.PLANNED)
SMALL_ROUTES = (Route.DIRECT, Route.ESTIMATE)


def _zone():
    return timezone.get_default_timezone()


def quote_due_from_receipt(reported_at):
    """10 calendar days after receipt (seed §5.2.2), the same wall-clock time."""
    return calendar_days_later(reported_at, sla_services.QUOTE_CALENDAR_DAYS, _zone())


def end_of_day(day: date):
    """The end of `day` (the next midnight) in the portal's zone: a date announced for the
    quote is met by a quote sent that day."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=_zone())


# --- reading --------------------------------------------------------------------------------


def change_of(ticket) -> ChangeRequest:
    """The change request of a change ticket (made on first use for a ticket registered before
    the change path existed); anything else is not a change."""
    if ticket.kind != Kind.CHANGE:
        raise IllegalStep(_("This ticket is not a change request."))
    change, _created = ChangeRequest.objects.get_or_create(
        ticket=ticket, defaults={"quote_due_at": quote_due_from_receipt(ticket.reported_at)}
    )
    return change


def sent_document(change, version=None):
    """The version an approval is about: the given one, else the latest sent."""
    documents = ChangeDocument.objects.filter(change=change).exclude(
        status=DocumentStatus.DRAFT
    )  # a draft is not sent: nobody decides on it
    if version is not None:
        document = documents.filter(version=version).first()
        if document is None:
            raise ValidationError(
                {"version": _("This change has no version %(v)s.") % {"v": version}}
            )
        return document
    document = documents.filter(status=DocumentStatus.SENT).order_by("-version").first()
    if document is None:
        raise IllegalStep(_("No quote or RFC is waiting for a decision."))
    return document


def estimate_minutes(ticket):
    """The provider's estimate of a ticket's work in minutes: a change request's estimate, or
    None (no estimate yet, or not a change)."""
    if ticket.kind != Kind.CHANGE:
        return None
    change = ChangeRequest.objects.filter(ticket=ticket).only("estimate_minutes").first()
    return change.estimate_minutes if change is not None else None


def is_provider_manager(user) -> bool:
    return user is not None and user.is_authenticated and user.role in MANAGER_ROLES


def needs_contact_approval(change) -> bool:
    """The change waits for an authorised contact's decision."""
    if change.stage in (*DECIDING, S.ACCEPTANCE):
        return True
    return change.stage in BEFORE_QUOTE and change.type in (ChangeType.STANDARD, ChangeType.MEDIUM)


# --- registration ---------------------------------------------------------------------------


def open_request(ticket) -> ChangeRequest:
    """A change ticket was registered: its change request, the quote due from receipt."""
    return ChangeRequest.objects.create(
        ticket=ticket, quote_due_at=quote_due_from_receipt(ticket.reported_at)
    )


@transaction.atomic
def describe(ticket, actor, *, why="", wished_date=None, services=(), raised_from=None):
    """What the change form asks besides the title and description (what): why, the wished
    date, the services concerned; and the incident or problem it was raised from (then it is
    non-standard, seed §5.1)."""
    change = change_of(ticket)
    services = list(services)
    if any(s.organization_id != ticket.organization_id for s in services):
        raise ValidationError({"services": _("Choose services of the ticket's organisation.")})
    if wished_date is not None and wished_date < timezone.localdate():
        raise ValidationError({"wished_date": _("The wished date lies in the past.")})
    change.why = (why or "").strip()
    change.wished_date = wished_date
    if raised_from is not None:
        if raised_from.kind not in (Kind.INCIDENT, Kind.PROBLEM):
            raise ValidationError(
                {"raised_from": _("A change is raised from an incident or a problem.")}
            )
        change.raised_from = raised_from
        change.non_standard = True
    change.save()
    change.services.set(services)
    return change


# --- the actions ------------------------------------------------------------------------------


def check_role(action, actor) -> None:
    """403 before anything else: who may take `action`."""
    if action in WORKER_ACTIONS:
        require(is_worker(actor), _("Only service desk staff may do this."))
    elif action in CUSTOMER_ACTIONS:
        require(
            is_authorised_contact(actor),
            _("Only an authorised contact of the organisation approves or rejects a change."),
        )
    elif action in MANAGER_ACTIONS:
        require(
            is_provider_manager(actor),
            _("Only a provider manager decides on a large change for the provider."),
        )
    else:
        raise ValidationError({"action": _("Unknown action.")})


def _stage_label(change):
    return Stage(change.stage).label


def _refuse(message, change):
    raise IllegalStep(str(message) % {"stage": _stage_label(change)})


def check_stage(action, change) -> None:
    """409 with the reason when the change's stage (or type) does not allow `action`."""
    stage, type_ = change.stage, change.type
    if stage in FINISHED_STAGES or stage == S.COMPLETED:
        _refuse(_("The change is “%(stage)s”: nothing more can happen to it."), change)
    if action == "cancel":
        return
    if action == "classify":
        if stage not in (S.REQUESTED, S.CLASSIFIED):
            _refuse(_("The change is “%(stage)s”: it can no longer be reclassified."), change)
        return
    if stage == S.REQUESTED:
        _refuse(_("Classify the change first."), change)
    route = change.route
    if action == "estimate":
        if stage not in ESTIMABLE:
            _refuse(_("The change is “%(stage)s”: its estimate can no longer be changed."), change)
        return
    if action in ("verify", "quote_notice", "quote") and type_ == ChangeType.STANDARD:
        _refuse(_("A standard change has no verification or quote."), change)
    if action in ("verify", "quote_notice") and stage not in BEFORE_QUOTE:
        _refuse(_("The change is “%(stage)s”: the quote was sent already."), change)
    if action == "quote" and stage not in (*BEFORE_QUOTE, S.QUOTED, S.REJECTED):
        _refuse(_("The change is “%(stage)s”: no new quote can be sent."), change)
    if action in ("approve", "reject"):
        if stage in (*DECIDING, S.ACCEPTANCE):
            return
        if stage not in BEFORE_QUOTE:
            _refuse(_("The change is “%(stage)s”: there is nothing to decide."), change)
        if type_ == ChangeType.LARGE:
            _refuse(_("A large change is decided on its RFC: wait for it to be sent."), change)
        if type_ == ChangeType.EXCEPTIONAL:
            _refuse(_("An exceptional change is decided on its quote: wait for it."), change)
        if route == Route.QUOTE:
            _refuse(_("Work over 4 hours or a new application or form always goes through a "
                      "quote: decide on the quote once it is sent."), change)  # fmt: skip
        if route == Route.ESTIMATE:
            _refuse(_("This change needs an estimate first: decide on the estimate."), change)
        if change.quote_free is False:
            _refuse(_("This change has costs: decide on its quote once it is sent."), change)
    if action in MANAGER_ACTIONS:
        if type_ != ChangeType.LARGE:
            _refuse(_("Only a large change needs the provider's approval."), change)
        if stage != S.QUOTED:
            _refuse(_("The change is “%(stage)s”: no RFC waits for approval."), change)
    if action == "plan" and stage == S.QUOTED and type_ == ChangeType.LARGE:
        _refuse(
            _("The change is “%(stage)s”: an authorised contact and a provider manager must both "
              "approve the same RFC version before it is planned."),
            change,
        )  # fmt: skip
    if action in ("start", "offer", "complete") and route is not None:
        _check_route(action, change, route)
        return
    if action == "offer":
        _refuse(_("Record the estimate first: only a small change is offered on the acceptance "
                  "environment."), change)  # fmt: skip
    if action == "plan" and stage not in (S.APPROVED, S.PLANNED):
        _refuse(_("The change is “%(stage)s”: it is planned once it is approved."), change)
    if action == "start" and not (
        stage == S.PLANNED or (stage == S.APPROVED and type_ == ChangeType.STANDARD)
    ):
        _refuse(_("The change is “%(stage)s”: it starts once it is planned."), change)
    if action == "progress" and stage != S.IN_PROGRESS:
        _refuse(_("The change is “%(stage)s”: progress is reported while it is in progress."),
                change)  # fmt: skip
    if action == "complete" and not (
        stage == S.IN_PROGRESS or (stage == S.APPROVED and type_ == ChangeType.STANDARD)
    ):
        _refuse(_("The change is “%(stage)s”: it is completed once it is in progress."), change)


def _check_route(action, change, route):
    """Start, offer and complete of a change with an estimate: its route decides (409)."""
    stage = change.stage
    if route == Route.QUOTE:
        if action == "offer":
            _refuse(_("This change goes through a quote: it is completed as planned, not offered "
                      "on the acceptance environment by itself."), change)  # fmt: skip
        if stage in (*BEFORE_QUOTE, *DECIDING, S.REJECTED):
            _refuse(
                _("Work over 4 hours or a new application or form always goes through a "
                  "quote: the work starts once the customer approved the quote."),
                change,
            )  # fmt: skip
        if action == "start" and stage != S.PLANNED:
            _refuse(_("The change is “%(stage)s”: it starts once it is planned."), change)
        if action == "complete" and stage != S.IN_PROGRESS:
            _refuse(_("The change is “%(stage)s”: it is completed once it is in progress."),
                    change)  # fmt: skip
        return
    missing_estimate = _(
        "The customer has not accepted the estimate yet: an authorised contact accepts it "
        "before the work starts."
    )
    if route == Route.ESTIMATE and stage in BEFORE_ACCEPTED_ESTIMATE:
        _refuse(missing_estimate, change)
    if action == "start":
        allowed = DIRECT_START if route == Route.DIRECT else (S.APPROVED, S.PLANNED)
        if stage not in allowed:
            _refuse(_("The change is “%(stage)s”: the work has started already."), change)
    elif action == "offer":
        allowed = (*DIRECT_START, S.IN_PROGRESS) if route == Route.DIRECT else (S.IN_PROGRESS,)
        if stage not in allowed:
            _refuse(_("The change is “%(stage)s”: it is offered for acceptance once the work "
                      "is done."), change)  # fmt: skip
    elif route == Route.DIRECT and stage != S.ACCEPTED:
        _refuse(_("The customer has not approved the result on the acceptance environment yet: "
                  "it goes to production only after their approval."), change)  # fmt: skip
    elif stage not in (S.IN_PROGRESS, S.ACCEPTED):
        _refuse(_("The change is “%(stage)s”: it is completed once it is in progress."), change)


@transaction.atomic
def act(ticket: Ticket, actor, action: str, data=None, errors=None):
    """Take `action` on the change of `ticket`: role (403), stage (409), input (400), write.
    `errors`: input errors the caller's parser found, raised after the role and stage checks."""
    data = dict(data or {})
    check_role(action, actor)
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    change = change_of(ticket)
    change.ticket = ticket
    check_stage(action, change)
    if errors:
        raise ValidationError(errors)
    handler = HANDLERS[action]
    handler(change, ticket, actor, data, timezone.now())
    return ticket


def _text(data, name, message):
    value = (data.get(name) or "").strip()
    if not value:
        raise ValidationError({name: message})
    return value


def _set_stage(change, stage, actor, now, action, **changes):
    old = change.stage
    change.stage = stage
    change.save()
    ticket_services.record_audit(
        change.ticket,
        actor,
        f"change_{action}"[:40],
        {"stage": [old, stage], **{k: _jsonable(v) for k, v in changes.items()}},
        obj=change,
    )


def _jsonable(value):
    if isinstance(value, list | tuple) and len(value) == 2:
        return [_jsonable(value[0]), _jsonable(value[1])]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _waive_quote(ticket, actor, waived=True):
    sla_services.record(ticket, ClockEvent.Kind.QUOTE_WAIVED, actor=actor, waived=waived)


def _is_waived(ticket) -> bool:
    last = (
        ClockEvent.objects.filter(ticket=ticket, kind=ClockEvent.Kind.QUOTE_WAIVED)
        .order_by("-at", "-pk")
        .first()
    )
    return last is not None and last.data.get("waived", True)


def _classify(change, ticket, actor, data, now):
    type_ = data.get("type") or ""
    if type_ not in ChangeType.values:
        raise ValidationError({"type": _("Choose standard, medium, large or exceptional.")})
    reason = _text(data, "reason", _("Say why the change has this type."))
    if type_ == ChangeType.STANDARD and change.non_standard:
        raise ValidationError(
            {"type": _("A change raised from an incident or a problem is non-standard.")}
        )
    if type_ == ChangeType.STANDARD and change.route == Route.QUOTE:
        raise IllegalStep(_("Work over 4 hours or a new application or form always goes through "
                            "a quote, and a standard change has none."))  # fmt: skip
    if ticket.status == Status.NEW:
        ticket_services.take(ticket, actor)  # picked up: the pickup clock stops
    old_type = change.type
    change.type, change.type_reason = type_, reason
    change.classified_by, change.classified_at = actor, now
    stage = S.CLASSIFIED
    approval = None
    if type_ == ChangeType.STANDARD and is_authorised_contact(ticket.reporter):
        # the request of an authorised contact is their approval of a standard change
        approval = ChangeApproval.objects.create(
            change=change,
            what=ApprovalSubject.CHANGE,
            by=ticket.reporter,
            at=now,
            decision=Decision.APPROVED,
            side=Side.CUSTOMER,
        )
        stage = S.APPROVED
    _set_stage(change, stage, actor, now, "classify", type=[old_type, type_], reason=reason)
    waived = _is_waived(ticket)
    if type_ == ChangeType.STANDARD and not waived:
        _waive_quote(ticket, actor)  # no quote for a standard change: its step clocks go
    elif type_ != ChangeType.STANDARD and waived:
        _waive_quote(ticket, actor, waived=False)
    notifications.classified(change, actor, approved=approval is not None)


def _verify(change, ticket, actor, data, now):
    note = _text(data, "note", _("Record what was checked, assessed or consulted."))
    first = change.stage != S.VERIFICATION
    _set_stage(change, S.VERIFICATION, actor, now, "verify", note=note)
    ticket_services.record_update(
        ticket, actor, _("Verification: %(note)s") % {"note": note}, Visibility.INTERNAL
    )
    if first:
        notifications.verification(change, actor)


def _quote_notice(change, ticket, actor, data, now):
    free = data.get("free")
    if free is None:
        raise ValidationError({"free": _("Say whether the quote is free of charge.")})
    day = data.get("date")
    due = None
    if day is not None:
        if day < timezone.localdate(now):
            raise ValidationError({"date": _("The announced date lies in the past.")})
        due = end_of_day(day)
        validate_instants(date=due)
    note = (data.get("note") or "").strip()
    change.quote_free = bool(free)
    if change.quote_notice_at is None:
        change.quote_notice_at = now
    if due is not None:
        change.quote_due_at = due
    _set_stage(change, change.stage, actor, now, "quote_notice", free=free, due=due, note=note)
    event = sla_services.record(
        ticket,
        ClockEvent.Kind.QUOTE_NOTICE,
        at=now,
        actor=actor,
        **({"due": due.isoformat()} if due else {}),
    )
    notifications.quote_notice(change, actor, event.pk, note)


def _quote_attachment(ticket, data):
    if data.get("attachment") is None:
        return None
    attachment = Attachment.objects.filter(
        pk=data["attachment"], ticket=ticket, internal=False
    ).first()
    if attachment is None:
        raise ValidationError(
            {"attachment": _("Choose a file attached to this ticket that the customer sees.")}
        )
    return attachment


def _quote(change, ticket, actor, data, now):
    """Send a new version of the quote (or RFC), or with `draft` keep it as a draft the
    customer does not see yet (one draft at a time: saving again updates it). Sending sends
    the draft, with what this request gives over what the draft holds."""
    documents = ChangeDocument.objects.filter(change=change)
    draft = documents.filter(status=DocumentStatus.DRAFT).order_by("-version").first()
    keep = bool(data.get("draft"))
    free = data.get("free")
    if free is None and draft is not None:
        free = draft.free
    if free is None and not keep:
        raise ValidationError({"free": _("Say whether the quote is free of charge.")})
    # a quote sent free of charge drops the draft's amount; otherwise the draft's stands
    kept_amount = draft.amount if draft is not None and not data.get("free") else None
    amount = data.get("amount", kept_amount)
    if amount is not None and amount < 0:
        raise ValidationError({"amount": _("The amount cannot be negative.")})
    if free and amount:
        raise ValidationError({"amount": _("A free quote has no amount.")})
    attachment = _quote_attachment(ticket, data)
    if attachment is None and "attachment" not in data and draft is not None:
        attachment = draft.attachment
    if draft is None:
        last = documents.aggregate(v=Max("version"))["v"] or 0
        draft = ChangeDocument(
            change=change, kind=change.document_kind, version=last + 1, created_by=actor,
            created_at=now,
        )  # fmt: skip
    draft.kind = change.document_kind
    draft.amount, draft.free, draft.attachment = amount, bool(free is None or free), attachment
    if keep:
        draft.status = DocumentStatus.DRAFT
        draft.save()
        ticket_services.record_audit(
            ticket, actor, "change_quote_draft",
            {"version": draft.version, "amount": _jsonable(amount), "free": draft.free},
            obj=change,
        )  # fmt: skip
        return
    superseded = list(
        documents.filter(status=DocumentStatus.SENT).values_list("version", flat=True)
    )
    documents.filter(version__in=superseded).update(status=DocumentStatus.SUPERSEDED)
    draft.status, draft.sent_at = DocumentStatus.SENT, now
    draft.save()
    document = draft
    change.quote_free = bool(free)
    _set_stage(
        change, S.QUOTED, actor, now, "quote", version=document.version,
        superseded=", ".join(str(v) for v in superseded),
    )  # fmt: skip
    if not ClockEvent.objects.filter(ticket=ticket, kind=ClockEvent.Kind.QUOTE_SENT).exists():
        sla_services.record(ticket, ClockEvent.Kind.QUOTE_SENT, at=now, actor=actor)
    notifications.document_sent(change, document, actor)


def _decided_document(change, data):
    document = sent_document(change, data.get("version"))
    if document.status == DocumentStatus.SUPERSEDED:
        newest = ChangeDocument.objects.filter(change=change).aggregate(v=Max("version"))["v"]
        raise IllegalStep(
            _("Version %(v)s is superseded by version %(new)s.")
            % {"v": document.version, "new": newest}
        )
    if document.status != DocumentStatus.SENT:
        raise IllegalStep(
            _("Version %(v)s is %(status)s already.")
            % {"v": document.version, "status": DocumentStatus(document.status).label.lower()}
        )
    return document


def _record(change, actor, now, decision, side, note, document=None, what=None):
    return ChangeApproval.objects.create(
        change=change,
        document=document,
        what=what or (document.kind if document else ApprovalSubject.CHANGE),
        version=document.version if document else None,
        by=actor,
        at=now,
        decision=decision,
        side=side,
        note=note,
    )


def _both_sides_approved(document) -> bool:
    sides = set(
        document.approvals.filter(decision=Decision.APPROVED).values_list("side", flat=True)
    )
    return sides >= {Side.CUSTOMER, Side.PROVIDER}


def _decide(change, ticket, actor, data, now, decision, side):
    note = (data.get("note") or "").strip()
    if change.stage == S.ACCEPTANCE:
        _decide_result(change, ticket, actor, data, now, decision, note)
        return
    if change.stage not in DECIDING:
        # the change itself (standard, or medium without a quote)
        if data.get("version") is not None:
            raise ValidationError({"version": _("No quote or RFC was sent for this change.")})
        approval = _record(change, actor, now, decision, side, note)
        approved = decision == Decision.APPROVED
        _set_stage(change, S.APPROVED if approved else S.REJECTED, actor, now, decision)
        if approved and not _is_waived(ticket):
            _waive_quote(ticket, actor)  # approved without a quote: no quote is due
        notifications.decided(change, approval, actor, stage_moved=True)
        return
    document = _decided_document(change, data)
    if document.approvals.filter(side=side).exists():
        raise IllegalStep(
            _("Version %(v)s was decided on by your side already.") % {"v": document.version}
        )
    approval = _record(change, actor, now, decision, side, note, document)
    if decision == Decision.REJECTED:
        document.status, document.decided_at = DocumentStatus.REJECTED, now
        document.save(update_fields=["status", "decided_at"])
        _set_stage(change, S.REJECTED, actor, now, "reject", version=document.version, side=side)
        notifications.decided(change, approval, actor, stage_moved=True)
        return
    if document.kind == DocumentKind.RFC and not _both_sides_approved(document):
        ticket_services.record_audit(
            ticket, actor, "change_approve", {"version": document.version, "side": side},
            obj=change,
        )  # fmt: skip
        notifications.decided(change, approval, actor, stage_moved=False)
        return
    document.status, document.decided_at = DocumentStatus.APPROVED, now
    document.save(update_fields=["status", "decided_at"])
    _set_stage(change, S.APPROVED, actor, now, "approve", version=document.version)
    notifications.decided(change, approval, actor, stage_moved=True)


def _decide_result(change, ticket, actor, data, now, decision, note):
    """The customer's decision on the result on the acceptance environment: approved, it goes
    to production; rejected (with what is not right), it is reworked and offered again."""
    if data.get("version") is not None:
        raise ValidationError({"version": _("The result on acceptance has no versions.")})
    approved = decision == Decision.APPROVED
    if not approved and not note:
        raise ValidationError({"note": _("Say what is not right, so that we can rework it.")})
    approval = _record(
        change, actor, now, decision, Side.CUSTOMER, note, what=ApprovalSubject.RESULT
    )
    stage = S.ACCEPTED if approved else S.IN_PROGRESS
    _set_stage(change, stage, actor, now, f"result_{decision}", note=note)
    notifications.decided(change, approval, actor, stage_moved=True)


def _approve(change, ticket, actor, data, now):
    _decide(change, ticket, actor, data, now, Decision.APPROVED, Side.CUSTOMER)


def _reject(change, ticket, actor, data, now):
    _decide(change, ticket, actor, data, now, Decision.REJECTED, Side.CUSTOMER)


def _provider_approve(change, ticket, actor, data, now):
    _decide(change, ticket, actor, data, now, Decision.APPROVED, Side.PROVIDER)


def _provider_reject(change, ticket, actor, data, now):
    _text(data, "note", _("Say why the provider rejects the RFC."))
    _decide(change, ticket, actor, data, now, Decision.REJECTED, Side.PROVIDER)


def _estimate(change, ticket, actor, data, now):
    """Record the estimate (minutes, new application or form): the route follows. On the
    estimate route the estimate is sent to the customer as a new version of kind `estimate`
    (a version still waiting is superseded); on the others the change waits for the work or
    the quote."""
    minutes = data.get("estimate_minutes")
    if minutes is None:
        raise ValidationError({"estimate_minutes": _("Give the estimate in minutes.")})
    if not (isinstance(minutes, int) and 1 <= minutes <= ESTIMATE_MAX):
        raise ValidationError(
            {"estimate_minutes": _("Give a whole number of minutes from 1 to %(max)s.")
             % {"max": ESTIMATE_MAX}}
        )  # fmt: skip
    new_application = bool(data.get("new_application"))
    note = (data.get("note") or "").strip()
    route = route_for(minutes, new_application, change.type)
    if route == Route.QUOTE and change.type == ChangeType.STANDARD:
        raise IllegalStep(_("Work over 4 hours or a new application or form always goes through "
                            "a quote, and a standard change has none: classify it as medium, "
                            "large or exceptional first."))  # fmt: skip
    old = (change.estimate_minutes, change.new_application, change.route)
    documents = ChangeDocument.objects.filter(change=change)
    superseded = list(
        documents.filter(status=DocumentStatus.SENT).values_list("version", flat=True)
    )
    documents.filter(version__in=superseded).update(status=DocumentStatus.SUPERSEDED)
    change.estimate_minutes, change.new_application = minutes, new_application
    change.estimated_at = now
    document = None
    if route == Route.ESTIMATE:
        last = documents.aggregate(v=Max("version"))["v"] or 0
        document = ChangeDocument.objects.create(
            change=change, kind=DocumentKind.ESTIMATE, version=last + 1,
            status=DocumentStatus.SENT, minutes=minutes, free=False, created_by=actor,
            created_at=now, sent_at=now,
        )  # fmt: skip
        stage = S.ESTIMATED
    else:
        stage = S.CLASSIFIED if change.stage in (S.ESTIMATED, S.REJECTED) else change.stage
    _set_stage(
        change, stage, actor, now, "estimate",
        estimate_minutes=[old[0], minutes], new_application=[old[1], new_application],
        route=[old[2], route], version=document.version if document else None,
        superseded=", ".join(str(v) for v in superseded), note=note,
    )  # fmt: skip
    waived = _is_waived(ticket)
    if route in SMALL_ROUTES and not waived:
        _waive_quote(ticket, actor)  # a small change has no quote: its step clocks go
    elif route == Route.QUOTE and waived:
        _waive_quote(ticket, actor, waived=False)
    notifications.estimated(change, document, actor, note)


def _offer(change, ticket, actor, data, now):
    """The work of a small change is done and on the acceptance environment: an authorised
    contact approves it (then it goes to production) or rejects it."""
    note = _text(data, "note", _("Say what the customer checks on the acceptance environment."))
    if change.started_at is None:
        change.started_at = now  # done at once (the direct route needs no separate start)
    _set_stage(change, S.ACCEPTANCE, actor, now, "offer", note=note)
    notifications.offered(change, actor, note, now)


def _plan(change, ticket, actor, data, now):
    start, end = data.get("planned_start"), data.get("planned_end")
    errors = {}
    if start is None:
        errors["planned_start"] = _("Give the planned start.")
    if end is None:
        errors["planned_end"] = _("Give the planned end.")
    if errors:
        raise ValidationError(errors)
    validate_instants(planned_start=start, planned_end=end)
    if end <= start:
        raise ValidationError({"planned_end": _("The planned end must lie after the start.")})
    if start < now:
        raise ValidationError({"planned_start": _("The planned start lies in the past.")})
    old_start, old_end = change.planned_start, change.planned_end
    change.planned_start, change.planned_end = start, end
    _set_stage(
        change, S.PLANNED, actor, now, "plan",
        planned_start=[old_start, start], planned_end=[old_end, end],
    )  # fmt: skip
    notifications.planned(change, actor)


def _start(change, ticket, actor, data, now):
    change.started_at = now
    _set_stage(change, S.IN_PROGRESS, actor, now, "start")
    notifications.started(change, actor)
    sla_services.recompute(ticket, now)  # a large change's progress reminder comes due


def _progress(change, ticket, actor, data, now):
    note = _text(data, "note", _("Say how the work progresses."))
    # a public update: the requester and the watchers are told as of any update
    ticket_services.add_update(ticket, actor, note, visibility=Visibility.PUBLIC)
    sla_services.recompute(ticket, now)  # the progress reminder counts from this update


def _complete(change, ticket, actor, data, now):
    note = _text(data, "note", _("Say what was done (and how it was tested and accepted)."))
    change.completed_at = now
    _set_stage(change, S.COMPLETED, actor, now, "complete")
    # the ticket is resolved: the customer confirms (or it closes by itself), the change closes
    ticket_services.transition(ticket, actor, Status.RESOLVED, note=note)


def _cancel(change, ticket, actor, data, now):
    reason = _text(data, "reason", _("Say why the change is cancelled."))
    change.cancel_reason, change.finished_at = reason, now
    _set_stage(change, S.CANCELLED, actor, now, "cancel", reason=reason)
    if ticket.status == Status.NEW:
        ticket_services.take(ticket, actor)
    if ticket.status != Status.CLOSED:
        # the provider ends it: the ticket closes (the customers are told, with the reason)
        ticket_services.transition(ticket, None, Status.CLOSED, note=reason)
    signals.change_finished.send(ChangeRequest, change=change, ticket=ticket)


HANDLERS = {
    "classify": _classify,
    "estimate": _estimate,
    "verify": _verify,
    "quote_notice": _quote_notice,
    "quote": _quote,
    "approve": _approve,
    "reject": _reject,
    "provider_approve": _provider_approve,
    "provider_reject": _provider_reject,
    "plan": _plan,
    "start": _start,
    "progress": _progress,
    "offer": _offer,
    "complete": _complete,
    "cancel": _cancel,
}


# --- the ticket's status moves the change along -----------------------------------------------


def ticket_moved(ticket, old_status, new_status, note=""):
    """The ticket of a change was closed (confirmed, automatically, withdrawn) or reopened."""
    change = ChangeRequest.objects.filter(ticket=ticket).first()
    if change is None or change.stage in FINISHED_STAGES:
        return
    if new_status == Status.RESOLVED and change.stage != S.COMPLETED:
        # No change is carried out before it is approved (seed §5): a change ticket is resolved
        # by completing the change (which resolves it), never by a status move of its own.
        _refuse(
            _("The change is “%(stage)s”: a change is resolved by completing it, once it is "
              "approved, planned and carried out."),
            change,
        )  # fmt: skip
    now = timezone.now()
    if new_status == Status.CLOSED:
        if change.stage == S.COMPLETED:
            change.stage = S.CLOSED
        else:  # withdrawn, or closed for lack of reaction
            change.stage, change.cancel_reason = S.CANCELLED, (note or "")[:2000]
        change.finished_at = now
        change.save(update_fields=["stage", "cancel_reason", "finished_at", "updated_at"])
        signals.change_finished.send(ChangeRequest, change=change, ticket=ticket)
    elif old_status == Status.RESOLVED and change.stage == S.COMPLETED:
        change.stage, change.completed_at = S.IN_PROGRESS, None  # not done after all
        change.save(update_fields=["stage", "completed_at", "updated_at"])
