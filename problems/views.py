"""Problem management's pages (provider staff only): the problem list, raising a problem from
incidents, and the actions of the problem panel on the ticket page (one POST route; the form's
`action` names the step). The problem's own page is its ticket's page with the problem panel
(`extensions.ticket_page_context`)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pim.permissions import is_customer, is_provider_staff, staff_required
from tickets.forms import apply_errors
from tickets.models import OPEN_STATUSES, Kind, Ticket
from tickets.views import render_ticket_detail, ticket_action

from . import services
from .forms import KnownErrorForm, LinkIncidentForm, ProblemEditForm, ProblemForm
from .models import KnownError, Problem

STATES = ("open", "closed", "all")
SEARCH_MAX = 200


@staff_required
def problem_list(request):
    """Open (default) or closed problems, newest first, with a title/number search."""
    state = request.GET.get("state")
    state = state if state in STATES else "open"
    term = (request.GET.get("q") or "").strip()[:SEARCH_MAX]
    qs = Problem.objects.select_related("ticket", "owner").annotate(
        incident_count=Count("links", distinct=True),
        known_error_count=Count("known_errors", distinct=True),
    )
    if state == "open":
        qs = qs.filter(ticket__status__in=sorted(OPEN_STATUSES))
    elif state == "closed":
        qs = qs.exclude(ticket__status__in=sorted(OPEN_STATUSES))
    if term:
        qs = qs.filter(Q(ticket__title__icontains=term) | Q(ticket__number__icontains=term))
    page = Paginator(qs.order_by("-ticket__reported_at", "-pk"), 25).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "problems/problem_list.html",
        {"page": page, "state": state, "q": term, "states": STATES},
    )


@staff_required
def problem_create(request):
    """Raise a problem from incidents: `?incident=INC-…` from an incident's page, or
    `?incidents=…&title=…` from the incident-trend view (managers raise problems there)."""
    initial = {}
    number = request.GET.get("incident")
    if isinstance(number, str) and number:
        incident = Ticket.objects.filter(number=number[:30], kind=Kind.INCIDENT).first()
        if incident is not None:
            initial = {
                "incidents": incident.number,
                "title": incident.title,
                "description": incident.description[:2000],
            }
    elif request.GET.get("incidents"):
        initial = {
            "incidents": request.GET["incidents"][:2000],
            "title": (request.GET.get("title") or "")[:200],
        }
    form = ProblemForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            problem = services.raise_problem(
                request.user,
                title=data["title"],
                description=data["description"],
                impact=data["impact"],
                urgency=data["urgency"],
                incidents=data["incidents"],
                owner=data.get("owner"),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Problem %(number)s is registered.") % {"number": problem.ticket.number}
            )
            return redirect(problem.ticket)
    return render(
        request,
        "problems/problem_form.html",
        {"form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def known_error_follow(request, pk):
    """A customer follows a known error published to their organisation (from the suggestions
    on the new-incident page) and goes back to that page with what they typed."""
    if not is_customer(request.user):
        raise Http404
    known_error = get_object_or_404(services.known_errors_for(request.user), pk=pk)
    services.follow(known_error, request.user)
    messages.success(
        request,
        _("You follow “%(title)s”: we tell you when it is fixed.") % {"title": known_error.title},
    )
    url = reverse("ticket-create")
    title = request.POST.get("title")
    if isinstance(title, str) and title.strip():
        url += "?" + urlencode({"title": title[:200]})
    return redirect(url)


ACTIONS = ("update", "link", "known_error", "send_workaround", "link_known_error")


def _known_error_of(problem, request):
    pk = request.POST.get("known_error")
    if not (isinstance(pk, str) and pk.isdigit() and len(pk) < 19):
        raise Http404
    return get_object_or_404(KnownError, pk=int(pk), problem=problem)


@ticket_action
def ticket_problem(request, ticket):
    """A step of problem management from the ticket page. On a problem: update, link,
    known_error (new or edit), send_workaround; on an incident: link_known_error."""
    if not is_provider_staff(request.user):
        raise Http404
    action = request.POST.get("action")
    if action not in ACTIONS:
        messages.error(request, _("Unknown action."))
        return redirect(ticket)
    if action == "link_known_error":
        if ticket.kind != Kind.INCIDENT:
            raise Http404
        pk = request.POST.get("known_error")
        if not (isinstance(pk, str) and pk.isdigit() and len(pk) < 19):
            raise Http404
        known_error = get_object_or_404(KnownError.objects.select_related("problem"), pk=int(pk))
        services.link_incident(known_error.problem, request.user, ticket)
        messages.success(
            request,
            _("Linked to problem %(number)s (known error “%(title)s”).")
            % {"number": known_error.problem.ticket.number, "title": known_error.title},
        )
        return redirect(ticket)
    if ticket.kind != Kind.PROBLEM:
        raise Http404
    problem = services.ensure_problem(ticket)
    form = None
    if action == "update":
        form = ProblemEditForm(request.POST)
        if form.is_valid():
            try:
                services.update_problem(problem, request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("The problem is updated."))
                return redirect(ticket)
        return render_ticket_detail(request, ticket, status=400, problem_edit_form=form)
    if action == "link":
        form = LinkIncidentForm(request.POST)
        if form.is_valid():
            try:
                for incident in form.cleaned_data["incidents"]:
                    services.link_incident(problem, request.user, incident)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("The incidents are linked."))
                return redirect(ticket)
        return render_ticket_detail(request, ticket, status=400, problem_link_form=form)
    if action == "send_workaround":
        known_error = _known_error_of(problem, request)
        try:
            told = services.send_workaround(known_error, request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("The workaround went to %(count)s people (nobody gets it twice).")
                % {"count": told},
            )
        return redirect(ticket)
    # known_error: new, or an edit of one of this problem's
    known_error = _known_error_of(problem, request) if request.POST.get("known_error") else None
    form = KnownErrorForm(request.POST, known_error=known_error, problem=problem)
    if form.is_valid():
        try:
            services.save_known_error(problem, request.user, known_error, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The known error is saved."))
            return redirect(ticket)
    return render_ticket_detail(
        request,
        ticket,
        status=400,
        **{f"known_error_form_{known_error.pk if known_error else 'new'}": form},
    )
