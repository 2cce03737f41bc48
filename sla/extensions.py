"""What sla adds to the ticket pages and API (registered in SlaConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from pim.permissions import is_worker
from tickets import extensions

from . import notice, outages, queries
from .api import TicketOutageField, with_outage_rows
from .forms import NoAccessForm, OutageForm, SlaNotApplicableForm

CLOCK_READ = extensions.ClockRead(
    list_rows=queries.with_clocks,
    api_rows=queries.with_clock_data,
    clocks=queries.live_clocks,
)


OUTAGE_PART = extensions.ApiPart(name="outage", field=TicketOutageField, rows=with_outage_rows)


def ticket_page_context(request, ticket, forms):
    """The clock panel with the incident's outage, and for agents the no-access,
    not-applicable and outage forms."""
    context = {"sla": queries.clock_panel(ticket)}
    if ticket.kind == "incident":
        context["outage"] = outages.outage_view(ticket)
    if is_worker(request.user):
        context["no_access_form"] = forms.get("no_access_form") or NoAccessForm()
        context["sla_na_form"] = forms.get("sla_na_form") or SlaNotApplicableForm()
        if ticket.kind == "incident":
            outage = context["outage"]
            initial = {"starts_at": outage.starts_at, "ends_at": outage.ends_at} if outage else {}
            context["outage_form"] = forms.get("outage_form") or OutageForm(initial=initial)
    return context


def register():
    extensions.register_clock_read(CLOCK_READ)
    extensions.register_detail_context(ticket_page_context)
    extensions.register_urgent_notice(notice.urgent_phone_notice)
    extensions.register_api_part(OUTAGE_PART)
    extensions.register_audit_words(
        actions={
            "outage": _("marked an outage of the service"),
            "outage_cleared": _("marked no outage of the service"),
        },
        fields={"outage_window": _("outage")},  # not "outage": the ticket's relation
    )
