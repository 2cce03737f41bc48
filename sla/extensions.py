"""What sla adds to the ticket pages and API (registered in SlaConfig.ready())."""

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pim.permissions import is_worker
from tickets import extensions

from . import availability_queries, notice, outages, queries
from .api import TicketOutageField, with_outage_rows
from .forms import NoAccessForm, OutageForm, SlaNotApplicableForm
from .models import Clock, Target

OUTCOMES = [("met", _("met")), ("breached", _("breached")), ("running", _("running"))]


def clock_q(target, outcome, now=None):
    """Tickets with a clock that counts in the compliance figures (`queries.compliance`), of
    `target` (any when None) with `outcome` now (met, breached, running: neither; any when
    None): a dashboard figure's drill-down lists exactly the tickets it counted."""
    now = now or timezone.now()
    clocks = Clock.objects.filter(counted=True)
    if target:
        clocks = clocks.filter(target=target)
    if outcome in ("met", "breached"):
        clocks = clocks.filter(queries.state_q(outcome, now))
    elif outcome == "running":
        clocks = clocks.exclude(queries.state_q("met", now)).exclude(
            queries.state_q("breached", now)
        )
    return Q(pk__in=clocks.values("ticket_id"))


TARGET_FILTER = extensions.ListFilter(
    choices=lambda: Target.choices,
    q=lambda value, user, cleaned: clock_q(value, cleaned.get("outcome")),
)
# the outcome of the chosen target (the target's filter applies both), else of any target
OUTCOME_FILTER = extensions.ListFilter(
    choices=lambda: OUTCOMES,
    q=lambda value, user, cleaned: Q() if cleaned.get("target") else clock_q(None, value),
)

# the incidents whose outage counts in the month's availability (a month: TicketFilter's field)
OUTAGE_FILTER = extensions.ListFilter(
    q=lambda value, user, cleaned: availability_queries.outage_q(value)
)

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
    extensions.register_list_filter("target", TARGET_FILTER)
    extensions.register_list_filter("outcome", OUTCOME_FILTER)
    extensions.register_list_filter("outage", OUTAGE_FILTER)
    extensions.register_audit_words(
        actions={
            "outage": _("marked an outage of the service"),
            "outage_cleared": _("marked no outage of the service"),
        },
        fields={"outage_window": _("outage")},  # not "outage": the ticket's relation
    )
