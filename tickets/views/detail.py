"""The ticket page: timeline, audit trail, the panels other apps register, and the POST-action
decorator every ticket action goes through; attachment downloads."""

from functools import wraps
from itertools import chain
from pathlib import PurePath

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from pim import thumbnails, uploads
from pim.exceptions import IllegalStateChange
from pim.models import User
from pim.templatetags.people import display_name

from .. import canned, extensions, links, participation, presence, queries, workflow
from ..forms import (
    AssignForm,
    AttachmentForm,
    ComposerForm,
    LinkForm,
    NotResolvedForm,
    PriorityForm,
    RatingForm,
    ResolveForm,
    TransitionForm,
    WatcherForm,
    WithdrawForm,
    WorkaroundForm,
)
from ..models import (
    Attachment,
    Channel,
    Kind,
    LinkRole,
    ResolutionType,
    SatisfactionRating,
    Status,
    Ticket,
    priority_words,
)
from .common import is_htmx


def get_ticket(request, number):
    return queries.get_ticket_for(request.user, number)


# Lazy: the labels are read per request, in the reader's language.
AUDIT_ACTIONS = {
    "created": gettext_lazy("registered the ticket"),
    "updated": gettext_lazy("edited the ticket"),
    "taken": gettext_lazy("took the ticket"),
    "transition": gettext_lazy("changed the status"),
    "priority": gettext_lazy("changed the priority"),
    "update": gettext_lazy("added an update"),
    "attachment": gettext_lazy("added an attachment"),
    "workaround": gettext_lazy("recorded a workaround"),
    "watcher_added": gettext_lazy("added a watcher"),
    "watcher_removed": gettext_lazy("removed a watcher"),
    "withdrawn": gettext_lazy("withdrew the ticket"),
    "rated": gettext_lazy("rated the handling"),
    "escalated": gettext_lazy("raised an escalation"),
    "escalation_acknowledged": gettext_lazy("acknowledged an escalation"),
    "escalation_closed": gettext_lazy("closed an escalation"),
    "no_access": gettext_lazy("recorded a period without access"),
    "sla_not_applicable": gettext_lazy("set the SLA to not applicable"),
    "anonymised": gettext_lazy("removed the personal data"),
    "link_added": gettext_lazy("linked a ticket"),
    "link_removed": gettext_lazy("removed a link"),
}


def audit_action_label(code):
    """An audit action in words (tickets' own, or registered by an upper app)."""
    return AUDIT_ACTIONS.get(code) or extensions.audit_words()["actions"].get(code, code)


def _field_label(name):
    try:
        field = Ticket._meta.get_field(name)
    except FieldDoesNotExist:  # keys that are not ticket fields (reason, file, visibility)
        field = None
    if field is not None and field.concrete:  # not a reverse relation's name (outage, clocks)
        return str(field.verbose_name)
    return {
        "reason": _("reason"),
        "file": _("file"),
        "visibility": _("visibility"),
        "watcher": _("watcher"),
        "score": _("rating"),
        "link": _("linked ticket"),
        "link_kind": _("link"),
    }.get(name) or str(extensions.audit_words()["fields"].get(name, name))


def _display_value(name, value, kind=None):
    if value in (None, ""):
        return "–"
    choices = {
        "status": Status,
        "priority": priority_words(kind),
        "resolution_type": ResolutionType,
        "kind": Kind,
        "channel": Channel,
        "link_kind": LinkRole,
    }
    choices.update(extensions.audit_words()["values"])
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


# Audit changes that name a person store the username (stable); pages show the full name.
PERSON_FIELDS = ("assignee", "reporter")


def _names(entries):
    """{username: full name} for the people the entries' changes mention, in one query."""
    usernames = {
        v
        for entry in entries
        for name, value in (entry.changes or {}).items()
        if name in PERSON_FIELDS and isinstance(value, list)
        for v in value
        if isinstance(v, str) and v
    }
    if not usernames:
        return {}
    return {
        u.username: display_name(u)
        for u in User.objects.filter(username__in=usernames).only(
            "username", "first_name", "last_name"
        )
    }


def _audit_rows(entries, kind=None):
    """The audit trail in words; `kind`: the ticket's (a change's priority has its words)."""
    rows = []
    names = _names(entries)

    def shown(name, value):
        if name in PERSON_FIELDS and isinstance(value, str):
            return names.get(value, value)
        return _display_value(name, value, kind)

    for entry in entries:
        changes = []
        for name, value in (entry.changes or {}).items():
            if isinstance(value, list) and len(value) == 2:
                old, new = value
                changes.append(
                    {
                        "field": _field_label(name),
                        "old": shown(name, old),
                        "new": shown(name, new),
                        "has_old": old not in (None, ""),
                    }
                )
            else:
                changes.append(
                    {
                        "field": _field_label(name),
                        "old": None,
                        "new": shown(name, value),
                        "has_old": False,
                    }
                )
        rows.append(
            {
                "entry": entry,
                "label": audit_action_label(entry.action),
                "changes": changes,
            }
        )
    return rows


TIMELINE_ORDERS = ("newest", "oldest")
TIMELINE_ORDER_KEY = "pim_timeline_order"


def timeline_order(request) -> str:
    """Newest first unless the user chose oldest first (kept in their session)."""
    order = request.session.get(TIMELINE_ORDER_KEY)
    return order if order in TIMELINE_ORDERS else "newest"


def _activity(ticket, user):
    """The merged timeline (oldest first) plus the audit trail, with nothing internal for
    customers."""
    updates = list(queries.updates_for(ticket, user))
    attachments = list(queries.attachments_for(ticket, user))
    sizes = thumbnails.known_sizes((a.pk, a.file.name) for a in attachments if a.previewable)
    for attachment in attachments:
        attachment.thumbnail_size = sizes.get(attachment.pk)  # <img width height>, once made
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
    audit_rows = _audit_rows(audit, ticket.kind)
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


def composer_targets(ticket, user):
    """The statuses the composer offers: the allowed moves but resolving (its own form)."""
    if not user.is_worker:
        return []
    return [
        (t, Status(t).label) for t in workflow.allowed_targets(ticket, user) if t != Status.RESOLVED
    ]


def composer_form(ticket, user, data=None, files=None):
    return ComposerForm(
        data, files, user=user, ticket=ticket, targets=composer_targets(ticket, user)
    )


def detail_context(request, ticket, **forms):
    user = request.user
    ctx = {
        "ticket": ticket,
        "update_form": forms.get("update_form") or composer_form(ticket, user),
        "attachment_form": forms.get("attachment_form"),
        "can_write": ticket.status != Status.CLOSED,
        "is_customer": user.is_customer,
        "timeline_order": timeline_order(request),
    }
    if user.is_provider_staff:
        ctx["present"] = presence.others(ticket, user)
        if ctx["can_write"]:
            language = getattr(ticket.reporter, "language", None)
            ctx["canned_responses"] = canned.for_ticket(ticket, user, language)
    if user.is_customer and ticket.status == Status.RESOLVED:
        ctx["not_resolved_form"] = forms.get("not_resolved_form") or NotResolvedForm()
    if user.is_worker:
        targets = workflow.allowed_targets(ticket, user)
        other_targets = [(t, Status(t).label) for t in targets if t != Status.RESOLVED]
        transition_form = forms.get("transition_form")
        if transition_form is None and other_targets:
            transition_form = TransitionForm()
        resolve_form = forms.get("resolve_form")
        # a change is completed through its own step (changes), not with an incident's fix
        if resolve_form is None and Status.RESOLVED in targets and ticket.kind != Kind.CHANGE:
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
                "workaround_form": forms.get("workaround_form")
                or (
                    WorkaroundForm()
                    if ticket.is_open and ticket.is_incident and ticket.workaround_at is None
                    else None
                ),
                "can_take": ticket.is_open
                and (ticket.assignee_id != user.pk or ticket.status == Status.NEW),
            }
        )
    ctx["links"] = links.links_of(ticket, user)
    if user.is_provider_staff:
        ctx["link_form"] = forms.get("link_form") or LinkForm()
    activity = _activity(ticket, user)
    ctx.update(_participation(ticket, user, forms, activity["timeline"]))
    if ctx["timeline_order"] == "newest":
        activity["timeline"].reverse()
    ctx.update(activity)
    ctx.update(extensions.detail_context(request, ticket, forms))  # sla, escalation panels
    return ctx


def _waiting_question(ticket, timeline):
    """While the provider waits for the customer: the provider's last public update (the
    question that came with the status), from the timeline already loaded."""
    if ticket.status != Status.WAITING_FOR_CUSTOMER:
        return None
    for item in reversed(timeline):
        update = item["obj"] if item["kind"] == "update" else None
        if (
            update is not None
            and update.is_public
            and (update.author is None or update.author.is_provider_staff)
        ):
            return update
    return None


def _participation(ticket, user, forms, timeline):
    """Watchers, withdrawal and the rating (issue 12), and the waiting banner."""
    ctx = {
        "waiting": ticket.status == Status.WAITING_FOR_CUSTOMER,
        "waiting_question": _waiting_question(ticket, timeline),
        "watchers": list(ticket.watchers.select_related("user")),
        "can_manage_watchers": participation.may_manage_watchers(ticket, user),
        "can_withdraw": participation.may_withdraw(ticket, user),
    }
    if ctx["can_manage_watchers"]:
        ctx["watcher_form"] = forms.get("watcher_form") or WatcherForm(
            candidates=participation.watcher_candidates(ticket)
        )
    if ctx["can_withdraw"]:
        ctx["withdraw_form"] = forms.get("withdraw_form") or WithdrawForm()
    if ticket.status == Status.CLOSED:
        ctx["rating"] = SatisfactionRating.objects.filter(ticket=ticket).first()
        if ctx["rating"] is None and participation.may_rate(ticket, user):
            ctx["rating_form"] = forms.get("rating_form") or RatingForm()
    return ctx


def render_ticket_detail(request, ticket, status=200, **forms):
    """The ticket page; `forms` are bound forms to show again with their errors (by context
    name, e.g. `update_form`, or a panel's form such as sla's `no_access_form`)."""
    return TemplateResponse(
        request,
        "tickets/ticket_detail.html",
        detail_context(request, ticket, **forms),
        status=status,
    )


@login_required
@require_GET
def ticket_detail(request, number):
    """The ticket page. `?order=newest|oldest` turns the timeline and is remembered; provider
    staff who open it count as present (the page's heartbeat keeps them so)."""
    ticket = get_ticket(request, number)
    order = request.GET.get("order")
    if order in TIMELINE_ORDERS:
        request.session[TIMELINE_ORDER_KEY] = order
    if request.user.is_provider_staff:
        presence.beat(ticket, request.user)
    refused = uploads.take_refusal(request, ticket.number)
    if not refused:
        return render_ticket_detail(request, ticket)
    # A refused upload came back here (tickets.views.actions.ticket_attach, or a body too large
    # to read: pim.middleware): its error beside the composer's file field, nothing filled in.
    composer = composer_form(ticket, request.user)
    form = AttachmentForm(user=request.user)
    for each, field in ((composer, "files"), (form, "file")):
        each.cleaned_data = {}
        for error in refused:
            each.add_error(field, error)
    return render_ticket_detail(request, ticket, attachment_form=form, update_form=composer)


@login_required
@require_POST
def ticket_presence(request, number):
    """The page's heartbeat (provider staff, every ~15 s and while typing a reply): records
    the caller as present, answers the "also working on this" notice for the others."""
    ticket = get_ticket(request, number)  # 404 outside the caller's scope
    if not request.user.is_provider_staff:
        raise PermissionDenied
    presence.beat(ticket, request.user, typing=request.POST.get("typing") == "1")
    return TemplateResponse(
        request,
        "tickets/_presence.html",
        {"ticket": ticket, "present": presence.others(ticket, request.user)},
    )


def ticket_action(view):
    """POST-only action on a visible ticket. PermissionDenied and IllegalStateChange become a
    message on the ticket page; a ValidationError is the view's to show on its form."""

    @wraps(view)
    def wrapper(request, number):
        ticket = get_ticket(request, number)
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


@login_required
@require_GET
def attachment_download(request, pk):
    """Attachments are only served here, access-checked: as a download, or with `?preview=1`
    as a small thumbnail (pim.thumbnails) of an image whose bytes agree with its name (png,
    jpeg, gif, webp; never SVG or HTML): the thumbnails on the ticket page. A file that cannot
    have one (not an image, corrupt, too many pixels) has no preview: 404."""
    attachment = get_object_or_404(
        Attachment.objects.filter(ticket__in=Ticket.objects.visible_to(request.user)), pk=pk
    )
    if not queries.attachments_for(attachment.ticket, request.user).filter(pk=pk).exists():
        raise Http404  # internal attachments stay with the provider
    if request.GET.get("preview") == "1":
        response = _thumbnail_response(attachment)
    else:
        fh = attachment.file.open("rb")
        response = FileResponse(fh, as_attachment=True, filename=attachment.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _thumbnail_response(attachment):
    if not attachment.previewable:
        raise Http404
    thumbnail = thumbnails.thumbnail_for(
        attachment.pk,
        attachment.file.name,
        attachment.original_name,
        lambda: attachment.file.open("rb"),
    )
    if thumbnail is None:
        raise Http404
    response = HttpResponse(thumbnail.content, content_type=thumbnail.content_type)
    extension = thumbnail.content_type.removeprefix("image/")
    name = f"{PurePath(attachment.original_name).stem}.{extension}"
    response["Content-Disposition"] = content_disposition_header(False, name)
    response["Cache-Control"] = "private, max-age=3600"
    return response
