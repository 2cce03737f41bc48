"""What changes adds to the ticket API and the ticket page (registered in ChangesConfig.ready())."""

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from pim.exceptions import IllegalStateChange
from pim.permissions import is_authorised_contact
from tickets import extensions
from tickets.models import Kind, Ticket

from . import services
from .api import TicketChangeField, with_change_rows
from .forms import STEP_FORMS, STEP_LABELS
from .models import (
    FINISHED_STAGES,
    ChangeApproval,
    ChangeDocument,
    ChangeRequest,
    ChangeType,
    DocumentStatus,
    Route,
    Side,
    Stage,
)
from .notifications import duration, route_text

API_PART = extensions.ApiPart(name="change", field=TicketChangeField, rows=with_change_rows)
DECISIONS = ("approve", "reject", "provider_approve", "provider_reject")

AUDIT_ACTIONS = {
    "change_classify": _("classified the change"),
    "change_verify": _("recorded the verification"),
    "change_quote_notice": _("sent the quote notice"),
    "change_quote": _("sent a quote or RFC"),
    "change_quote_draft": _("saved a draft quote or RFC"),
    "change_estimate": _("recorded the estimate"),
    "change_approve": _("approved the quote, RFC or estimate"),
    "change_approved": _("approved the change"),
    "change_reject": _("rejected the quote, RFC or estimate"),
    "change_offer": _("offered the change for acceptance"),
    "change_result_approved": _("approved the result on acceptance"),
    "change_result_rejected": _("rejected the result on acceptance"),
    "change_rejected": _("rejected the change"),
    "change_plan": _("planned the change"),
    "change_start": _("started the work"),
    "change_complete": _("completed the change"),
    "change_cancel": _("cancelled the change"),
}
AUDIT_FIELDS = {
    "stage": _("stage"),
    "type": _("type"),
    "version": _("version"),
    "superseded": _("superseded versions"),
    "planned_start": _("planned start"),
    "planned_end": _("planned end"),
    "note": _("note"),
    "free": _("free of charge"),
    "due": _("quote due"),
    "amount": _("amount"),
    "side": _("side"),
    "estimate_minutes": _("estimate (minutes)"),
    "new_application": _("new application or form"),
    "route": _("route"),
}
AUDIT_VALUES = {"stage": Stage, "type": ChangeType, "side": Side, "route": Route}


def next_for_customer(change, user):
    """What the change's route expects of the customer now (None: nothing said)."""
    route, stage = change.route, change.stage
    contact = is_authorised_contact(user)
    if stage == Stage.ESTIMATED:
        if contact:
            return _("Accept or reject the estimate below: we start the work once it is accepted.")
        return _("An authorised contact of your organisation accepts or rejects the estimate.")
    if stage == Stage.ACCEPTANCE:
        if contact:
            return _("Check the result on the acceptance environment and approve or reject it "
                     "below: we deliver it to production after your approval.")  # fmt: skip
        return _("An authorised contact of your organisation checks the result on the "
                 "acceptance environment and approves or rejects it.")  # fmt: skip
    if stage == Stage.ACCEPTED:
        return _("Nothing: the result is approved and we deliver the change to production.")
    if route == Route.DIRECT and stage in services.DIRECT_START + (Stage.IN_PROGRESS,):
        return _("Nothing yet: we carry out the change and ask for your approval on the "
                 "acceptance environment.")  # fmt: skip
    if route == Route.ESTIMATE and stage in (Stage.APPROVED, Stage.PLANNED, Stage.IN_PROGRESS):
        return _("Nothing: the estimate is accepted and we carry out the work.")
    if route == Route.QUOTE and stage in services.BEFORE_QUOTE:
        return _("Nothing yet: we send you a quote.")
    return None


def route_panel(change, user):
    """The route of the change (from the estimate), why, and what is expected next."""
    if change.stage in FINISHED_STAGES:
        expected = None
    else:
        expected = None if user.is_provider_staff else next_for_customer(change, user)
    route = change.route
    return {
        "route": route,
        "label": Route(route).label if route else None,
        "estimate": duration(change.estimate_minutes),
        "text": route_text(route, change.estimate_minutes, change.new_application),
        "expected": expected,
    }


def ticket_page_context(request, ticket, forms):
    """The change panel of a change ticket: the request, its documents and approvals, and the
    steps the reader may take now (each with its form)."""
    if ticket.kind in (Kind.INCIDENT, Kind.PROBLEM):
        return _raised_from(request, ticket)
    if ticket.kind != Kind.CHANGE:
        return {}
    change = (
        ChangeRequest.objects.filter(ticket=ticket)
        .select_related("raised_from", "classified_by")
        .prefetch_related(
            "services",
            Prefetch(
                "documents",
                queryset=ChangeDocument.objects.select_related("attachment").order_by("version"),
            ),
            Prefetch(
                "approvals", queryset=ChangeApproval.objects.select_related("by").order_by("at")
            ),
        )
        .first()
    )
    if change is None:
        return {}
    change.ticket = ticket
    documents = [
        d
        for d in change.documents.all()
        if d.status != DocumentStatus.DRAFT or request.user.is_provider_staff
    ]  # a draft is the provider's own until it is sent
    draft = next((d for d in reversed(documents) if d.status == DocumentStatus.DRAFT), None)
    waiting = next((d for d in reversed(documents) if d.status == DocumentStatus.SENT), None)
    steps = []
    for action, form_class in STEP_FORMS.items():
        try:
            services.check_role(action, request.user)
            services.check_stage(action, change)
        except (PermissionDenied, IllegalStateChange):
            continue
        bound = forms.get(f"change_{action}_form")
        initial = {"version": waiting.version} if waiting and action in DECISIONS else {}
        if action == "quote" and draft is not None:
            initial = {
                "free": "true" if draft.free else "false",
                "amount": draft.amount,
                "attachment": draft.attachment_id,
            }
        steps.append(
            {
                "action": action,
                "label": STEP_LABELS[action],
                "form": bound or form_class(ticket=ticket, initial=initial),
                "open": bound is not None,
                "decision": action in DECISIONS,
            }
        )
    return {
        "change_panel": {
            "change": change,
            "documents": documents,
            "draft": draft,
            "waiting": waiting,
            "steps": steps,
            "route": route_panel(change, request.user),
        }
    }


def _raised_from(request, ticket):
    """On an incident or problem: the changes raised from it (those the reader may see) and,
    for the service desk, the button that raises one (seed §5.1: non-standard and linked)."""
    raised = list(
        Ticket.objects.visible_to(request.user)
        .filter(change_request__raised_from=ticket)
        .order_by("reported_at")
        .only("pk", "number", "title", "status")
    )
    can_raise = request.user.is_worker
    if not (raised or can_raise):
        return {}
    url = f"{reverse('change-create')}?{urlencode({'from': ticket.number})}"
    return {"change_raised": {"changes": raised, "url": url if can_raise else None}}


def register():
    extensions.register_api_part(API_PART)
    extensions.register_detail_context(ticket_page_context)
    extensions.register_audit_words(actions=AUDIT_ACTIONS, fields=AUDIT_FIELDS, values=AUDIT_VALUES)
