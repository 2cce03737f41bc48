from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Escalation, MatrixRow, Notification, Trigger


@admin.register(MatrixRow)
class MatrixRowAdmin(admin.ModelAdmin):
    list_display = [
        "level",
        "owner_roles",
        "deputy1_roles",
        "deputy2_roles",
        "deputy_after_minutes",
    ]
    list_editable = ["owner_roles", "deputy1_roles", "deputy2_roles", "deputy_after_minutes"]


@admin.register(Trigger)
class TriggerAdmin(admin.ModelAdmin):
    list_display = ["code", "event", "target", "priorities", "level", "active"]
    list_editable = ["level", "active"]
    list_filter = ["event", "level", "active"]


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    list_display = ["ticket", "level", "trigger", "raised_at", "tier", "acknowledged_by"]
    list_filter = ["level", "trigger"]
    search_fields = ["ticket__number"]
    raw_id_fields = ["ticket", "raised_by", "acknowledged_by"]
    readonly_fields = ["ticket", "level", "trigger", "reason", "raised_by", "raised_at", "tier",
                       "next_deputy_at", "acknowledged_by", "acknowledged_at"]  # fmt: skip

    def has_add_permission(self, request):
        return False  # raised by the triggers and by customers, through the services


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "template", "trigger", "recipient", "channel", "status",
                    "attempts", "sent_at"]  # fmt: skip
    list_filter = ["status", "channel", "template"]
    search_fields = ["dedup_key", "recipient__username", "ticket__number"]
    readonly_fields = [f.name for f in Notification._meta.fields]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send again (failed rows)"))
    def resend(self, request, queryset):
        from .services import enqueue

        for pk in queryset.filter(status="failed").values_list("pk", flat=True):
            queryset.model.objects.filter(pk=pk).update(status="pending", attempts=0)
            enqueue(pk)
