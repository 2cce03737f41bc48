"""What sla adds to the ticket pages and API (registered in SlaConfig.ready())."""

from pim.permissions import is_worker
from tickets import extensions

from . import notice, queries
from .forms import NoAccessForm, SlaNotApplicableForm

CLOCK_READ = extensions.ClockRead(
    list_rows=queries.with_clocks,
    api_rows=queries.with_clock_data,
    clocks=queries.live_clocks,
)


def ticket_page_context(request, ticket, forms):
    """The clock panel, and for agents the no-access and not-applicable forms."""
    context = {"sla": queries.clock_panel(ticket)}
    if is_worker(request.user):
        context["no_access_form"] = forms.get("no_access_form") or NoAccessForm()
        context["sla_na_form"] = forms.get("sla_na_form") or SlaNotApplicableForm()
    return context


def register():
    extensions.register_clock_read(CLOCK_READ)
    extensions.register_detail_context(ticket_page_context)
    extensions.register_urgent_notice(notice.urgent_phone_notice)
