"""What billing adds to the ticket page (registered in BillingConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from pim.permissions import is_provider_staff, is_worker
from tickets import extensions
from tickets.models import Kind

from . import services
from .forms import TimeEntryForm

AUDIT_ACTIONS = {
    "time_added": _("recorded time"),
    "time_changed": _("changed a time entry"),
    "time_deleted": _("removed a time entry"),
    "time_corrected": _("corrected the time of a closed month"),
}
AUDIT_FIELDS = {
    "user": _("worked by"),
    "worked_on": _("worked on"),
    "minutes": _("minutes"),
    "description": _("description"),
    "category": _("category"),
}


def ticket_page_context(request, ticket, forms):
    """The "Time" panel: provider staff see every entry and (workers) add one; customers see
    the ticket's billable entries only, and no panel when there are none."""
    user = request.user
    staff = is_provider_staff(user)
    entries = list(services.entries_for(user).filter(ticket=ticket).order_by("-worked_on", "-pk"))
    if not staff and not entries:
        return {}
    panel = {"entries": entries, "staff": staff, "totals": services.totals(entries)}
    if is_worker(user) and ticket.kind != Kind.PROBLEM:
        panel["form"] = forms.get("time_form") or TimeEntryForm(user=user)
        panel["form_open"] = "time_form" in forms
    return {"time_panel": panel}


def register():
    extensions.register_detail_context(ticket_page_context)
    extensions.register_audit_words(actions=AUDIT_ACTIONS, fields=AUDIT_FIELDS)
