"""Admin for maintenance: the same rules and writes as the portal (maintenance/services.py)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from . import rules, services
from .models import FeedToken, MaintenanceNotice, MaintenanceUpdate, Subscription

WRITE_FIELDS = [
    "kind", "title", "description", "all_organizations", "organizations", "services",
    "starts_at", "ends_at", "impact", "emergency_scenario", "initiator",
]  # fmt: skip


class NoticeAdminForm(forms.ModelForm):
    class Meta:
        model = MaintenanceNotice
        fields = WRITE_FIELDS

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        instance = self.instance if self.instance.pk else None
        rescheduled = instance is None or any(
            data.get(f) != getattr(instance, f) for f in ("kind", "starts_at", "ends_at")
        )
        try:
            rules.validate_notice(
                data.get("kind"),
                data.get("starts_at"),
                data.get("ends_at"),
                announced_at=None if rescheduled else instance.announced_at,
                exclude_pk=instance.pk if instance else None,
            )
        except ValidationError as exc:
            for field, errors in exc.error_dict.items():
                for error in errors:
                    self.add_error(field if field in self.fields else None, error)
        return data

    def validate_constraints(self, exclude=None):
        pass  # the window rule is validate_notice's (with its message), not the bare constraint


class UpdateInline(admin.TabularInline):
    model = MaintenanceUpdate
    extra = 0
    can_delete = False
    fields = ["at", "event", "status", "message", "author"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(MaintenanceNotice)
class MaintenanceNoticeAdmin(admin.ModelAdmin):
    form = NoticeAdminForm
    list_display = ["title", "kind", "starts_at", "ends_at", "impact", "status", "sequence"]
    list_filter = ["kind", "status", "impact"]
    search_fields = ["title", "description"]
    date_hierarchy = "starts_at"
    filter_horizontal = ["organizations", "services"]
    readonly_fields = ["status", "sequence", "announced_at", "initiated_by", "updated_at"]
    inlines = [UpdateInline]

    def has_delete_permission(self, request, obj=None):
        return False  # cancel instead: the timeline and the calendars keep it

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in WRITE_FIELDS if f in form.cleaned_data}
        if change:
            notice = services.update_notice(obj, request.user, **data)
        else:
            notice = services.create_notice(request.user, **data)
        obj.pk = obj.id = notice.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # The many-to-many fields were written by the service with the notice.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "service", "created_at"]
    list_filter = ["organization"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]


@admin.register(FeedToken)
class FeedTokenAdmin(admin.ModelAdmin):
    """Only revocation: the secrets themselves are not stored."""

    list_display = ["user", "created_at", "last_used_at"]
    fields = ["user", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
