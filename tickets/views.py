"""Server-rendered pages: the customer portal, the ticket page and the agent workspace.

Every read goes through tickets.queries (Ticket.objects.visible_to), every write through
tickets.services. Objects outside the user's scope answer 404. Writes are POST-only; each
works as plain POST + redirect, and the update form also answers htmx with a partial.
"""

from functools import wraps
from itertools import chain

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, F, IntegerField, Value, When
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from pim.exceptions import IllegalStateChange
from pim.permissions import staff_required

from . import extensions, queries, services, workflow
from .filters import ALL, QueueFilter, TicketFilter
from .forms import (
    AssignForm,
    AttachmentForm,
    CustomerListFilterForm,
    NotResolvedForm,
    PriorityForm,
    ResolveForm,
    TicketCreateForm,
    TransitionForm,
    UpdateForm,
    apply_errors,
)
from .models import (
    OPEN_STATUSES,
    Attachment,
    Kind,
    Priority,
    ResolutionType,
    Status,
    Ticket,
)

PAGE_SIZE = 25


def is_htmx(request):
    """An htmx request for a fragment (not a history restore, which wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Request-Type", "partial") != "full"
    )


def _filter_data(form):
    """The valid part of a bound filter form; invalid values are ignored (and shown)."""
    if not form.is_bound:
        return {}
    form.is_valid()
    return form.cleaned_data


def _page(request, queryset):
    paginator = Paginator(queryset, PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


# --- customer portal ------------------------------------------------------------------------

# The customer list's "Show" choice as TicketFilter statuses: open means not closed yet (a
# resolved ticket waits for the customer's confirmation).
CUSTOMER_LIST_STATES = {
    "open": [*sorted(OPEN_STATUSES), Status.RESOLVED],
    "closed": [Status.CLOSED],
    "all": [ALL],
}


@login_required
@require_GET
def ticket_list(request):
    """Customer users: their own tickets; authorised contacts: their organisation's.
    Provider staff reach the same page, but work from the queue."""
    form = CustomerListFilterForm(request.GET or None)
    data = _filter_data(form)
    state = data.get("state") or "open"
    filters = TicketFilter(
        {"status": CUSTOMER_LIST_STATES[state], "search": data.get("q") or ""},
        queryset=queries.ticket_list(request.user),
        request=request,
    )
    qs = filters.qs
    page = _page(request, extensions.clock_read().list_rows(qs).order_by("-reported_at", "-pk"))
    return render(
        request,
        "tickets/ticket_list.html",
        {
            "form": form,
            "page": page,
            "state": state,
            "filtered": bool(data.get("q")),
            "now": timezone.now(),
        },
    )


@login_required
def ticket_create(request):
    user = request.user
    if not (user.is_customer or user.is_worker):
        raise PermissionDenied(_("You may not file tickets."))
    form = TicketCreateForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        kwargs = {
            "title": data["title"],
            "description": data["description"],
            "priority": data["priority"],
            "service": data.get("service"),
            "location": data.get("location"),
            "kind": Kind.INCIDENT,
        }
        if not user.is_customer:
            kwargs["organization"] = data["organization"]
            kwargs["channel"] = data.get("channel") or "phone"
        try:
            ticket = services.create_ticket(actor=user, **kwargs)
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or _("You may not file tickets."))
        else:
            messages.success(
                request,
                _("Your report has been registered as %(number)s.") % {"number": ticket.number},
            )
            if ticket.priority in (Priority.P1, Priority.P2) and user.is_customer:
                messages.warning(
                    request,
                    _("P1/P2: please call us as well on %(phone)s, quoting %(number)s.")
                    % {"phone": _service_desk_phone(), "number": ticket.number},
                )
            return redirect(ticket)
    return render(request, "tickets/ticket_form.html", {"form": form})


def _service_desk_phone():
    return settings.SERVICE_DESK_PHONE


# --- the ticket page ------------------------------------------------------------------------


def _get_ticket(request, number):
    return get_object_or_404(queries.ticket_detail(request.user), number=number)


AUDIT_ACTIONS = {
    "created": _("registered the ticket"),
    "updated": _("edited the ticket"),
    "taken": _("took the ticket"),
    "transition": _("changed the status"),
    "priority": _("changed the priority"),
    "update": _("added an update"),
    "attachment": _("added an attachment"),
}


def _field_label(name):
    try:
        return str(Ticket._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # keys that are not ticket fields (reason, file, visibility)
        return {"reason": _("reason"), "file": _("file"), "visibility": _("visibility")}.get(
            name, name
        )


def _display_value(name, value):
    if value in (None, ""):
        return "–"
    choices = {
        "status": Status,
        "priority": Priority,
        "resolution_type": ResolutionType,
        "kind": Kind,
    }
    if name in choices:
        try:
            return str(choices[name](value).label)
        except ValueError:
            return str(value)
    if name == "visibility":
        return {"public": _("public"), "internal": _("internal")}.get(value, value)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            dt = timezone.datetime.fromisoformat(value)
            return timezone.localtime(dt).strftime("%d-%m-%Y %H:%M")
        except ValueError:
            return value
    return str(value)


def _audit_rows(entries):
    rows = []
    for entry in entries:
        changes = []
        for name, value in (entry.changes or {}).items():
            if isinstance(value, list) and len(value) == 2:
                old, new = value
                changes.append(
                    {
                        "field": _field_label(name),
                        "old": _display_value(name, old),
                        "new": _display_value(name, new),
                        "has_old": old not in (None, ""),
                    }
                )
            else:
                changes.append(
                    {
                        "field": _field_label(name),
                        "old": None,
                        "new": _display_value(name, value),
                        "has_old": False,
                    }
                )
        rows.append(
            {
                "entry": entry,
                "label": AUDIT_ACTIONS.get(entry.action, entry.action),
                "changes": changes,
            }
        )
    return rows


def _activity(ticket, user):
    """The merged timeline plus the audit trail, with nothing internal for customers."""
    updates = list(queries.updates_for(ticket, user))
    attachments = list(queries.attachments_for(ticket, user))
    priority_changes = list(ticket.priority_changes.select_related("changed_by"))
    audit = list(ticket.audit_entries.select_related("actor"))
    if not user.is_provider_staff:
        visible = {
            ("ticket", ticket.pk),
            *(("ticketupdate", u.pk) for u in updates),
            *(("attachment", a.pk) for a in attachments),
            *(("prioritychange", p.pk) for p in priority_changes),
        }
        audit = [e for e in audit if (e.object_type, e.object_id) in visible]
    audit_rows = _audit_rows(audit)
    items = chain(
        (
            {"kind": "audit", "rank": 0, "at": r["entry"].at, "obj": r["entry"], "row": r}
            for r in audit_rows
            # Updates, attachments and priority changes have their own timeline items.
            if r["entry"].object_type == "ticket" and r["entry"].action != "priority"
        ),
        ({"kind": "priority", "rank": 1, "at": p.changed_at, "obj": p} for p in priority_changes),
        ({"kind": "update", "rank": 2, "at": u.created_at, "obj": u} for u in updates),
        ({"kind": "attachment", "rank": 3, "at": a.created_at, "obj": a} for a in attachments),
    )
    timeline = sorted(items, key=lambda i: (i["at"], i["rank"]))
    return {"timeline": timeline, "audit_rows": audit_rows}


def _detail_context(request, ticket, **forms):
    user = request.user
    ctx = {
        "ticket": ticket,
        "update_form": forms.get("update_form") or UpdateForm(user=user),
        "attachment_form": forms.get("attachment_form") or AttachmentForm(user=user),
        "can_write": ticket.status != Status.CLOSED,
        "is_customer": user.is_customer,
    }
    if user.is_customer and ticket.status == Status.RESOLVED:
        ctx["not_resolved_form"] = forms.get("not_resolved_form") or NotResolvedForm()
    if user.is_worker:
        targets = workflow.allowed_targets(ticket, user)
        other_targets = [(t, Status(t).label) for t in targets if t != Status.RESOLVED]
        transition_form = forms.get("transition_form")
        if transition_form is None and other_targets:
            transition_form = TransitionForm()
        resolve_form = forms.get("resolve_form")
        if resolve_form is None and Status.RESOLVED in targets:
            resolve_form = ResolveForm(ticket=ticket)
        ctx.update(
            {
                "assign_form": forms.get("assign_form")
                or AssignForm(initial={"assignee": ticket.assignee_id}),
                "priority_form": forms.get("priority_form")
                or PriorityForm(ticket=ticket, initial={"priority": ticket.priority}),
                "transition_form": transition_form,
                "transition_targets": other_targets,
                "resolve_form": resolve_form,
                "can_take": ticket.is_open
                and (ticket.assignee_id != user.pk or ticket.status == Status.NEW),
            }
        )
    ctx.update(_activity(ticket, user))
    ctx.update(extensions.detail_context(request, ticket, forms))  # sla, escalation panels
    return ctx


def render_ticket_detail(request, ticket, status=200, **forms):
    """The ticket page; `forms` are bound forms to show again with their errors (by context
    name, e.g. `update_form`, or a panel's form such as sla's `no_access_form`)."""
    return TemplateResponse(
        request,
        "tickets/ticket_detail.html",
        _detail_context(request, ticket, **forms),
        status=status,
    )


@login_required
@require_GET
def ticket_detail(request, number):
    return render_ticket_detail(request, _get_ticket(request, number))


def ticket_action(view):
    """POST-only action on a visible ticket. PermissionDenied and IllegalStateChange become a
    message on the ticket page; a ValidationError is the view's to show on its form."""

    @wraps(view)
    def wrapper(request, number):
        ticket = _get_ticket(request, number)
        try:
            return view(request, ticket)
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("You may not do this."))
        except IllegalStateChange as exc:
            messages.error(request, exc.message)
        if is_htmx(request):
            # fetch() follows redirects itself; tell htmx to load the page instead.
            return HttpResponse(headers={"HX-Redirect": ticket.get_absolute_url()})
        return redirect(ticket)

    return login_required(require_POST(wrapper))


@ticket_action
def ticket_update(request, ticket):
    """A reply (customer) or a progress update (staff). htmx gets the activity partial back."""
    user = request.user
    form = UpdateForm(request.POST, user=user)
    saved = False
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.add_update(
                ticket,
                user,
                data["body"],
                visibility=data.get("visibility") or "public",
                next_actions=data.get("next_actions") or "",
                expected_resolution_at=data.get("expected_resolution_at"),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            saved = True
    if is_htmx(request):
        ticket = _get_ticket(request, ticket.number)  # the reply may have moved the status
        ctx = _detail_context(request, ticket, update_form=None if saved else form)
        ctx["saved"] = saved
        return render(request, "tickets/_activity_response.html", ctx)
    if saved:
        messages.success(request, _("Your update has been added."))
        return redirect(ticket)
    return render_ticket_detail(request, ticket, update_form=form)


@ticket_action
def ticket_attach(request, ticket):
    user = request.user
    form = AttachmentForm(request.POST, request.FILES, user=user)
    if form.is_valid():
        try:
            attachment = services.add_attachment(
                ticket,
                user,
                form.cleaned_data["file"],
                internal=bool(form.cleaned_data.get("internal")),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("“%(name)s” has been attached.") % {"name": attachment.original_name},
            )
            return redirect(ticket)
    return render_ticket_detail(request, ticket, attachment_form=form)


@ticket_action
def ticket_take(request, ticket):
    services.take(ticket, request.user)
    messages.success(request, _("You have taken %(number)s.") % {"number": ticket.number})
    return redirect(ticket)


@ticket_action
def ticket_assign(request, ticket):
    form = AssignForm(request.POST)
    if form.is_valid():
        try:
            services.update_ticket(ticket, request.user, assignee=form.cleaned_data["assignee"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The assignee has been saved."))
            return redirect(ticket)
    return render_ticket_detail(request, ticket, assign_form=form)


@ticket_action
def ticket_priority(request, ticket):
    form = PriorityForm(request.POST, ticket=ticket)
    if form.is_valid():
        try:
            services.change_priority(
                ticket, request.user, form.cleaned_data["priority"], form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The priority is now %(priority)s.")
                % {"priority": Priority(ticket.priority).label},
            )
            return redirect(ticket)
    return render_ticket_detail(request, ticket, priority_form=form)


@ticket_action
def ticket_transition(request, ticket):
    user = request.user
    if request.POST.get("status") == Status.RESOLVED:
        form = ResolveForm(request.POST, ticket=ticket)
        form_name = "resolve_form"
    else:
        form = TransitionForm(request.POST)
        form_name = "transition_form"
    if form.is_valid():
        data = form.cleaned_data
        status = data["status"]
        try:
            services.transition(
                ticket,
                user,
                status,
                note=data.get("note") or "",
                resolution=form.resolution() if status == Status.RESOLVED else None,
                wish_date=data.get("wish_date"),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(number)s is now “%(status)s”.")
                % {"number": ticket.number, "status": Status(status).label},
            )
            return redirect(ticket)
    return render_ticket_detail(request, ticket, **{form_name: form})


@ticket_action
def ticket_confirm(request, ticket):
    """The customer confirms the resolution: the ticket is closed."""
    services.confirm_resolution(ticket, request.user)
    messages.success(request, _("Thank you, %(number)s is closed.") % {"number": ticket.number})
    return redirect(ticket)


@ticket_action
def ticket_not_resolved(request, ticket):
    """The customer says the problem is not solved: back to the service desk."""
    form = NotResolvedForm(request.POST)
    if form.is_valid():
        services.transition(
            ticket, request.user, Status.RESPONSE_RECEIVED, note=form.cleaned_data["note"]
        )
        messages.success(
            request,
            _("We have reopened %(number)s and will contact you.") % {"number": ticket.number},
        )
        return redirect(ticket)
    return render_ticket_detail(request, ticket, not_resolved_form=form)


# --- agent workspace ------------------------------------------------------------------------

STATUS_ORDER = Case(
    *(When(status=s, then=Value(i)) for i, s in enumerate(Status.values)),
    default=Value(99),
    output_field=IntegerField(),
)


@staff_required
@require_GET
def queue(request):
    """All organisations' tickets; open ones unless the status filter says otherwise."""
    filters = QueueFilter(request.GET, queryset=queries.ticket_list(request.user), request=request)
    qs = filters.qs  # invalid values are ignored (and shown on the form)
    data = filters.sort_data

    sort = data.get("sort") or "reported_at"
    direction = data.get("dir") or ("asc" if sort == "priority" else "desc")
    key = {"reported_at": "reported_at", "priority": "priority", "number": "number"}.get(sort)
    qs = extensions.clock_read().list_rows(qs)
    if sort == "status":
        qs = qs.annotate(status_order=STATUS_ORDER)
        key = "status_order"
    if sort == "next_due":
        # the soonest deadline first; tickets without a running clock last
        due = F("next_due_at")
        order = due.desc(nulls_last=True) if direction == "desc" else due.asc(nulls_last=True)
        qs = qs.order_by(order, "-reported_at")
    else:
        prefix = "-" if direction == "desc" else ""
        qs = qs.order_by(f"{prefix}{key}", "-reported_at" if key != "reported_at" else "-pk")

    page = _page(request, qs)
    ctx = {
        "form": filters.form,
        "page": page,
        "sort": sort,
        "dir": direction,
        "now": timezone.now(),
    }
    template = "tickets/_queue_results.html" if is_htmx(request) else "tickets/queue.html"
    return render(request, template, ctx)


# --- attachments ----------------------------------------------------------------------------


@login_required
@require_GET
def attachment_download(request, pk):
    """Attachments are only served here: access-checked, always as a download."""
    attachment = get_object_or_404(
        Attachment.objects.filter(ticket__in=Ticket.objects.visible_to(request.user)), pk=pk
    )
    if not queries.attachments_for(attachment.ticket, request.user).filter(pk=pk).exists():
        raise Http404  # internal attachments stay with the provider
    response = FileResponse(
        attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
