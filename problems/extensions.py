"""What problems adds to the ticket page (registered in ProblemsConfig.ready())."""

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from pim import inputs
from pim.permissions import is_customer, is_provider_staff
from tickets import extensions
from tickets.models import Kind

from . import matching, services
from .forms import KnownErrorForm, LinkIncidentForm, ProblemEditForm
from .models import KnownError, KnownErrorFollower, Level, Problem, ProblemIncident

AUDIT_ACTIONS = {
    "problem_update": _("updated the problem"),
    "problem_link": _("linked a problem and an incident"),
    "known_error_new": _("recorded a known error"),
    "known_error": _("edited a known error"),
    "known_error_fixed": _("known error fixed"),
    "workaround_sent": _("sent the workaround"),
}
AUDIT_FIELDS = {
    "impact": _("impact"),
    "urgency": _("urgency"),
    "owner": _("owner"),
    "root_cause": _("root cause"),
    "incident": _("incident"),
    "linked_problem": _("problem"),
    "symptoms": _("symptoms"),
    "workaround": _("workaround"),
    "fix_change": _("fix (change)"),
    "published_to": _("published to"),
    "change": _("change"),
    "told": _("people told"),
}
AUDIT_VALUES = {"impact": Level, "urgency": Level}


def register():
    extensions.register_audit_words(actions=AUDIT_ACTIONS, fields=AUDIT_FIELDS, values=AUDIT_VALUES)
    extensions.register_detail_context(ticket_page_context)
    extensions.register_new_ticket_context(new_ticket_hints)


HINTS = 3


def new_ticket_hints(request):
    """A customer typing a new incident's title: the known errors published to their
    organisation (not fixed yet) that match it, with whether they follow each."""
    user = request.user
    if not is_customer(user):
        return {}
    title = request.GET.get("title")
    if not isinstance(title, str) or not title.strip():
        return {}
    candidates = services.known_errors_for(user).filter(fixed_at__isnull=True)
    hints = matching.match(candidates, title[: inputs.TITLE_MAX], limit=HINTS)
    followed = set(
        KnownErrorFollower.objects.filter(user=user, known_error__in=hints).values_list(
            "known_error_id", flat=True
        )
    )
    return {"known_error_hints": hints, "known_errors_followed": followed}


def ticket_page_context(request, ticket, forms):
    """Staff only. On a problem: its panel (impact, urgency, owner, root cause, the linked
    incidents, the known errors with their forms). On an incident: the problems it is linked
    to (with their known errors' workarounds), the known errors that match it (one click
    links it), and "raise problem"."""
    user = request.user
    if not is_provider_staff(user):
        return {}
    if ticket.kind == Kind.PROBLEM:
        return _problem_panel(ticket, forms)
    if ticket.kind == Kind.INCIDENT:
        return _incident_panel(ticket)
    return {}


def _problem_panel(ticket, forms):
    problem = (
        Problem.objects.filter(ticket=ticket)
        .select_related("owner")
        .prefetch_related(
            Prefetch(
                "links",
                queryset=ProblemIncident.objects.select_related(
                    "incident", "incident__organization"
                ).order_by("linked_at", "pk"),
            ),
            Prefetch(
                "known_errors",
                queryset=KnownError.objects.select_related("fix_change__ticket").prefetch_related(
                    "services", "published_to"
                ),
            ),
        )
        .first()
    )
    if problem is None:
        return {}
    edit = forms.get("problem_edit_form") or ProblemEditForm(
        initial={
            "impact": problem.impact,
            "urgency": problem.urgency,
            "owner": problem.owner_id,
            "root_cause": problem.root_cause,
        }
    )
    known_errors = [
        {"ke": ke,
         "form": forms.get(f"known_error_form_{ke.pk}")
         or KnownErrorForm(known_error=ke, problem=problem),
         "open": f"known_error_form_{ke.pk}" in forms}
        for ke in problem.known_errors.all()
    ]  # fmt: skip
    new_form = forms.get("known_error_form_new")
    return {
        "problem_panel": {
            "problem": problem,
            "edit_form": edit,
            "edit_open": "problem_edit_form" in forms,
            "link_form": forms.get("problem_link_form") or LinkIncidentForm(),
            "link_open": "problem_link_form" in forms,
            "known_errors": known_errors,
            "new_form": new_form
            or KnownErrorForm(initial={"root_cause": problem.root_cause}, problem=problem),
            "new_open": new_form is not None,
        }
    }


def _incident_panel(ticket):
    links = list(
        ProblemIncident.objects.filter(incident=ticket)
        .select_related("problem__ticket")
        .prefetch_related("problem__known_errors")
    )
    linked = {link.problem_id for link in links}
    suggestions = []
    if ticket.is_open:
        suggestions = [ke for ke in matching.for_incident(ticket) if ke.problem_id not in linked]
        if suggestions:
            problems = {
                p.pk: p
                for p in Problem.objects.filter(
                    pk__in={ke.problem_id for ke in suggestions}
                ).select_related("ticket")
            }
            for ke in suggestions:
                ke.problem = problems[ke.problem_id]
    return {
        "incident_problems": {
            "links": links,
            "suggestions": suggestions,
        }
    }
