from django import forms
from django.contrib import admin
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from pim.admin_history import ValuesInHistoryMixin
from pim.models import Role

from .models import (
    Escalation,
    MatrixRow,
    Notification,
    Trigger,
    WebhookDelivery,
    WebhookEndpoint,
    parse_roles,
)
from .outbox import enqueue


class RolesField(forms.MultipleChoiceField):
    """The roles of SPEC §1 as checkboxes; stored as before, comma-separated codes in the
    roles' order ("agent,oncall")."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(choices=Role.choices, **kwargs)

    def prepare_value(self, value):
        return parse_roles(value) if isinstance(value, str) else value

    def has_changed(self, initial, data):
        return super().has_changed(self.prepare_value(initial), data)

    def clean(self, value):
        chosen = set(super().clean(value))  # an unknown role is refused here
        return ",".join(role for role in Role.values if role in chosen)


class MatrixRowForm(forms.ModelForm):
    owner_roles = RolesField(label=capfirst(_("owner")))
    deputy1_roles = RolesField(label=capfirst(_("1st deputy")))
    deputy2_roles = RolesField(label=capfirst(_("2nd deputy")))

    class Meta:
        model = MatrixRow
        fields = ["level", "owner_roles", "deputy1_roles", "deputy2_roles",
                  "deputy_after_minutes"]  # fmt: skip


def roles_text(value):
    labels = dict(Role.choices)
    return ", ".join(str(labels.get(role, role)) for role in parse_roles(value))


@admin.register(MatrixRow)
class MatrixRowAdmin(ValuesInHistoryMixin, admin.ModelAdmin):
    form = MatrixRowForm
    list_display = ["level", "owners", "deputies1", "deputies2", "deputy_after_minutes"]
    list_editable = ["deputy_after_minutes"]

    @admin.display(description=_("owner"))
    def owners(self, row):
        return roles_text(row.owner_roles)

    @admin.display(description=_("1st deputy"))
    def deputies1(self, row):
        return roles_text(row.deputy1_roles)

    @admin.display(description=_("2nd deputy"))
    def deputies2(self, row):
        return roles_text(row.deputy2_roles)


@admin.register(Trigger)
class TriggerAdmin(ValuesInHistoryMixin, admin.ModelAdmin):
    list_display = ["code", "event", "target", "priorities", "level", "active"]
    list_editable = ["level", "active"]
    list_filter = ["event", "level", "active"]


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    list_display = ["ticket", "level", "trigger", "raised_at", "tier", "acknowledged_by",
                    "closed_at"]  # fmt: skip
    list_filter = ["level", "trigger"]
    search_fields = ["ticket__number"]
    list_select_related = ["ticket", "acknowledged_by"]
    raw_id_fields = ["ticket", "raised_by", "acknowledged_by"]
    readonly_fields = ["ticket", "level", "trigger", "reason", "raised_by", "raised_at", "tier",
                       "next_deputy_at", "acknowledged_by", "acknowledged_at",
                       "closed_at"]  # fmt: skip

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
        for pk in queryset.filter(status="failed").values_list("pk", flat=True):
            queryset.model.objects.filter(pk=pk).update(status="pending", attempts=0)
            enqueue(pk)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """The only place where `allow_private` (deliver to internal addresses) can be set."""

    list_display = ["url", "organization", "is_active", "allow_private", "created_at"]
    list_filter = ["is_active", "allow_private"]
    search_fields = ["url", "organization__name"]
    fields = ["organization", "url", "event_types", "is_active", "disabled_reason",
              "allow_private", "rotated_at", "created_at"]  # fmt: skip
    readonly_fields = ["rotated_at", "created_at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["at", "notification", "attempt", "status_code", "error", "duration_ms"]
    list_filter = ["status_code"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False
