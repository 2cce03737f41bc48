from django.contrib import admin

from .models import InboundMessage


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    """Read-only: messages change only through the intake and the triage page."""

    list_display = ("received_at", "status", "from_address", "subject", "ticket")
    list_filter = ("status",)
    search_fields = ("from_address", "subject", "message_id")
    exclude = ("raw",)
    readonly_fields = [f.name for f in InboundMessage._meta.fields if f.name != "raw"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
