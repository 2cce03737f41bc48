"""What reviews adds to the ticket page (registered in ReviewsConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from pim.permissions import is_provider_staff
from tickets import extensions
from tickets.models import Status

from . import services
from .forms import ReviewActionForm, ReviewForm

AUDIT_ACTIONS = {
    "review_filed": _("filed the post-incident review"),
    "review_updated": _("amended the post-incident review"),
    "review_actions": _("changed the review's actions"),
    "review_action_added": _("added an action to the review"),
    "review_action_done": _("ticked off a review action"),
}
AUDIT_FIELDS = {
    "published": _("published"),
    "timeline": _("timeline"),
    "cause": _("cause"),
    "impact": _("impact"),
    "went_well": _("what went well"),
    "went_wrong": _("what went wrong"),
    "actions": _("actions"),
    "action": _("action"),
    "done": _("done"),
}


def ticket_page_context(request, ticket, forms):
    """The review panel of a P1 incident: staff read and file it (once resolved), the
    organisation's authorised contacts read it once published; nobody else sees it."""
    if not services.has_review(ticket):
        return {}
    user = request.user
    review = services.review_of(ticket)
    if not services.may_read(review, user):
        return {}
    due_at, _filed = services.due_dates(ticket)
    panel = {
        "review": review,
        "due_at": due_at,
        "open_actions": services.open_actions(review) if review else [],
        "staff": is_provider_staff(user),
    }
    if panel["staff"] and ticket.status in (Status.RESOLVED, Status.CLOSED):
        initial = {n: getattr(review, n) for n in (*services.TEXTS, "published")} if review else {}
        panel["form"] = forms.get("review_form") or ReviewForm(initial=initial)
        panel["form_open"] = "review_form" in forms or review is None
        if review is not None:
            panel["action_form"] = forms.get("review_action_form") or ReviewActionForm(
                ticket=ticket
            )
            panel["action_form_open"] = "review_action_form" in forms
    return {"review_panel": panel}


def register():
    extensions.register_detail_context(ticket_page_context)
    extensions.register_audit_words(actions=AUDIT_ACTIONS, fields=AUDIT_FIELDS)
