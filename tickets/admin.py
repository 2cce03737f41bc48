"""Provider admins see tickets here; every write goes through tickets.services."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from . import services
from .models import AuditEntry, PriorityChange, Ticket, TicketUpdate


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
    fields = ("changed_at", "changed_by", "old_priority", "new_priority", "reason")
    readonly_fields = fields


class AuditInline(ReadOnlyInline):
    model = AuditEntry
    fields = ("at", "actor", "action", "changes")
    readonly_fields = fields


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

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.update_ticket(Ticket.objects.get(pk=obj.pk), request.user, **fields)
        except (ValidationError, PermissionDenied) as exc:
            self.message_user(request, _("Not saved: %(error)s") % {"error": exc}, level="error")
