"""The post-incident review of a P1 incident (SPEC §3.3, issue 16 item 5).

Every P1 incident gets one after its resolution: sla sets the due date (5 working days after
the resolution, the organisation's office calendar) and escalation reminds every working day
until it is filed. Provider staff file it here (timeline, cause and impact required; what went
well and not; actions with an owner and a due date): filing tells sla (`file_pir`), so the
reminders stop. Published, the organisation's authorised contacts read it (page and API); other
customers never see it. Its actions are tracked until done. Every write is audited on the
ticket."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pim import inputs
from pim.exceptions import IllegalStateChange
from pim.models import CUSTOMER_ROLES, STAFF_ROLES, User
from pim.permissions import is_authorised_contact, is_provider_staff, require_staff
from sla import services as sla_services
from sla.models import TicketSla
from tickets.models import Kind, Status, Ticket
from tickets.services import record_audit

from . import notifications
from .models import PostIncidentReview, ReviewAction

TEXTS = ("timeline", "cause", "impact", "went_well", "went_wrong")
REQUIRED = ("timeline", "cause", "impact")
TEXT_MAX = {
    "timeline": inputs.UPDATE_BODY_MAX,
    "cause": inputs.RESOLUTION_TEXT_MAX,
    "impact": inputs.RESOLUTION_TEXT_MAX,
    "went_well": inputs.RESOLUTION_TEXT_MAX,
    "went_wrong": inputs.RESOLUTION_TEXT_MAX,
}
ACTION_MAX = inputs.REASON_MAX
ACTIONS_MAX = 50

NOT_P1 = gettext_lazy("Only P1 incidents have a post-incident review.")
NOT_RESOLVED = gettext_lazy("The post-incident review follows the resolution of the incident.")


class NoReview(IllegalStateChange):
    """This ticket has no review (not a P1 incident), or not yet (not resolved): 409."""


def has_review(ticket) -> bool:
    return ticket.kind == Kind.INCIDENT and ticket.priority == 1


def check_reviewable(ticket, *, filing=False) -> None:
    if not has_review(ticket):
        raise NoReview(str(NOT_P1))
    if filing and ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise NoReview(str(NOT_RESOLVED))


def review_of(ticket):
    return (
        PostIncidentReview.objects.filter(ticket=ticket)
        .select_related("author")
        .prefetch_related("actions__owner")
        .first()
    )


def may_read(review, user) -> bool:
    """Provider staff; the organisation's authorised contacts once it is published."""
    if is_provider_staff(user):
        return True
    return (
        review is not None
        and review.published
        and is_authorised_contact(user)
        and user.organization_id_or_none == review.ticket.organization_id
    )


def due_dates(ticket):
    """(due, filed) of the ticket's PIR as sla keeps them (None without SLA terms)."""
    terms = TicketSla.objects.filter(ticket=ticket).only("pir_due_at", "pir_filed_at").first()
    return (terms.pir_due_at, terms.pir_filed_at) if terms else (None, None)


def owner_candidates(ticket):
    """Who may own an action: provider staff, or a person of the ticket's organisation."""
    return User.objects.filter(is_active=True).filter(
        Q(membership__role__in=sorted(STAFF_ROLES))
        | Q(
            membership__role__in=sorted(CUSTOMER_ROLES),
            membership__organization_id=ticket.organization_id,
        )
    )


def _clean_texts(data):
    texts, errors = {}, {}
    for name in TEXTS:
        value = (data.get(name) or "").strip()
        if name in REQUIRED and not value:
            errors[name] = _("Required to file the review.")
        elif len(value) > TEXT_MAX[name]:
            errors[name] = _("At most %(max)s characters.") % {"max": TEXT_MAX[name]}
        texts[name] = value
    if errors:
        raise ValidationError(errors)
    return texts


def _clean_action(ticket, item):
    description = (item.get("description") or "").strip()
    if not description:
        raise ValidationError({"actions": _("Describe each action.")})
    if len(description) > ACTION_MAX:
        raise ValidationError({"actions": _("An action is at most %(max)s characters.")
                               % {"max": ACTION_MAX}})  # fmt: skip
    owner = item.get("owner")
    if not isinstance(owner, User) or not owner_candidates(ticket).filter(pk=owner.pk).exists():
        raise ValidationError(
            {"actions": _("An action's owner is provider staff or a person of the organisation.")}
        )
    due = item.get("due")
    if not isinstance(due, date) or not (inputs.EARLIEST.date() <= due <= date(8999, 12, 31)):
        raise ValidationError({"actions": _("Give each action a due date.")})
    return {"description": description, "owner": owner, "due": due, "done": bool(item.get("done"))}


@transaction.atomic
def save_review(ticket: Ticket, actor, data: dict, actions=None) -> PostIncidentReview:
    """File or amend the review (PUT: the texts and `published`; `actions`, when given, replace
    the list: an item with an `id` of this review keeps its row). The first save files it: sla
    records the filing and the reminders stop."""
    require_staff(actor, _("Provider staff file the post-incident review."))
    check_reviewable(ticket, filing=True)
    texts = _clean_texts(data)
    cleaned = None
    if actions is not None:
        if len(actions) > ACTIONS_MAX:
            raise ValidationError({"actions": _("At most %(max)s actions.") % {"max": ACTIONS_MAX}})
        cleaned = [(item.get("id"), _clean_action(ticket, item)) for item in actions]
    now = timezone.now()
    review = PostIncidentReview.objects.select_for_update().filter(ticket=ticket).first()
    publish = bool(data.get("published", review.published if review else False))
    if review is None:
        review = PostIncidentReview(ticket=ticket, filed_at=now, author=actor, **texts)
        review.published, review.published_at = publish, (now if publish else None)
        review.save()
        record_audit(ticket, actor, "review_filed", {"published": [None, publish]}, obj=review)
        sla_services.file_pir(ticket, now)
        if publish:
            notifications.published(review, actor, now)
    else:
        changes = {
            n: [getattr(review, n)[:80], texts[n][:80]]
            for n in TEXTS
            if getattr(review, n) != texts[n]
        }
        for name, value in texts.items():
            setattr(review, name, value)
        if publish != review.published:
            changes["published"] = [review.published, publish]
            review.published = publish
            if publish and review.published_at is None:
                review.published_at = now
                notifications.published(review, actor, now)
        review.save()
        if changes:
            record_audit(ticket, actor, "review_updated", changes, obj=review)
    if cleaned is not None:
        _replace_actions(ticket, review, actor, cleaned, now)
        sla_services.recompute(ticket)  # the next check: an action's due date
    return review


def _replace_actions(ticket, review, actor, cleaned, now):
    existing = {a.pk: a for a in review.actions.all()}
    keep = set()
    for action_id, values in cleaned:
        action = existing.get(action_id) if action_id is not None else None
        if action is None:
            action = ReviewAction(review=review)
        was_done = action.done
        for name, value in values.items():
            setattr(action, name, value)
        if action.done and not was_done:
            action.done_at = now
        elif not action.done:
            action.done_at = None
        action.save()
        keep.add(action.pk)
    gone = [pk for pk in existing if pk not in keep]
    if gone:
        ReviewAction.objects.filter(pk__in=gone).delete()
    record_audit(
        ticket, actor, "review_actions", {"actions": [len(existing), len(cleaned)]}, obj=review
    )


@transaction.atomic
def add_action(ticket, actor, *, description, owner, due) -> ReviewAction:
    require_staff(actor, _("Provider staff file the post-incident review."))
    review = PostIncidentReview.objects.filter(ticket=ticket).first()
    if review is None:
        raise NoReview(_("File the review first; then add its actions."))
    values = _clean_action(ticket, {"description": description, "owner": owner, "due": due})
    action = ReviewAction.objects.create(review=review, **values)
    sla_services.recompute(ticket)  # the next check: the action's due date
    record_audit(
        ticket, actor, "review_action_added", {"action": [None, values["description"][:80]]},
        obj=action,
    )  # fmt: skip
    return action


@transaction.atomic
def set_action_done(ticket, actor, action: ReviewAction, done: bool = True) -> ReviewAction:
    require_staff(actor, _("Provider staff file the post-incident review."))
    if action.review.ticket_id != ticket.pk:
        raise PermissionDenied(_("This action belongs to another review."))
    if action.done != done:
        action.done, action.done_at = done, (timezone.now() if done else None)
        action.save(update_fields=["done", "done_at"])
        record_audit(ticket, actor, "review_action_done", {"done": [not done, done]}, obj=action)
    return action


def open_actions(review, today=None):
    """The review's actions not done yet, each with whether it is overdue."""
    today = today or timezone.localdate()
    return [{"action": a, "overdue": a.due < today} for a in review.actions.all() if not a.done]
