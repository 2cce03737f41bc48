"""Provider admins see tickets here; every write goes through tickets.services."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from . import services
from .forms import worker_users
from .models import AuditEntry, CannedResponse, PriorityChange, Ticket, TicketUpdate
from .views.detail import AUDIT_ACTIONS, _audit_rows


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class UpdateInline(ReadOnlyInline):
    model = TicketUpdate
    fields = ("created_at", "author", "visibility", "body", "next_actions")
    readonly_fields = fields


class PriorityChangeInline(ReadOnlyInline):
    model = PriorityChange
    fields = ("changed_at", "changed_by", "old_priority", "new_priority", "reason_shown")
    readonly_fields = fields

    @admin.display(description=_("reason"))
    def reason_shown(self, change):
        return change.reason_text  # a system reason in the reader's language


class AuditInline(ReadOnlyInline):
    """The ticket's audit trail as the ticket page shows it: the action in words, each change
    as old → new with local times and names."""

    model = AuditEntry
    fields = ("at", "actor", "action_shown", "changes_shown")
    readonly_fields = fields

    @admin.display(description=_("action"))
    def action_shown(self, entry):
        return AUDIT_ACTIONS.get(entry.action, entry.action)

    @admin.display(description=_("changes"))
    def changes_shown(self, entry):
        (row,) = _audit_rows([entry])
        parts = []
        for change in row["changes"]:
            shown = f"{change['old']} → {change['new']}" if change["has_old"] else change["new"]
            parts.append(f"{change['field']}: {shown}")
        return "; ".join(parts)


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "title",
        "organization",
        "priority",
        "status",
        "assignee",
        "reported_at",
    )
    list_filter = ("kind", "status", "priority", "organization")
    list_select_related = ("organization", "assignee")
    search_fields = ("number", "title")
    date_hierarchy = "reported_at"
    fields = (
        "number", "kind", "organization", "reporter", "status", "priority", "channel",
        "title", "description", "service", "location", "assignee",
        "reported_at", "responded_at", "resolved_at", "closed_at",
    )  # fmt: skip
    readonly_fields = (
        "number", "kind", "organization", "reporter", "status", "priority", "channel",
        "reported_at", "responded_at", "resolved_at", "closed_at",
    )  # fmt: skip
    inlines = [PriorityChangeInline, UpdateInline, AuditInline]

    def has_add_permission(self, request):
        return False  # tickets are registered in the portal, the API or by e-mail

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Only service desk staff can be assigned (tickets.services.update_ticket says so too);
        # services and locations of the ticket's own organisation.
        if db_field.name == "assignee":
            kwargs["queryset"] = worker_users()
        ticket = getattr(request, "_admin_ticket", None)
        if db_field.name in ("service", "location") and ticket is not None:
            kwargs["queryset"] = db_field.related_model.objects.filter(
                organization_id=ticket.organization_id
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        request._admin_ticket = obj
        return super().get_form(request, obj, change, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.update_ticket(Ticket.objects.get(pk=obj.pk), request.user, **fields)
        except (ValidationError, PermissionDenied) as exc:
            self.message_user(request, _("Not saved: %(error)s") % {"error": exc}, level="error")


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    """Text modules for the composer; placeholders are filled per ticket (tickets.canned)."""

    list_display = ("title", "language", "active")
    list_filter = ("language", "active")
    search_fields = ("title", "body")
