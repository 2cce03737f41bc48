from django.contrib import admin

from .calendars import bump_version
from .models import (
    Calendar,
    CalendarDate,
    Contract,
    ContractOverride,
    OpeningHours,
    PolicyTarget,
    SlaPolicy,
)


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class CalendarDateInline(admin.TabularInline):
    model = CalendarDate
    extra = 1


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "always_open", "timezone", "holiday_country", "updated_at")
    inlines = [OpeningHoursInline, CalendarDateInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        bump_version(form.instance.pk)  # a correction recomputes open tickets (recompute_sla)


class PolicyTargetInline(admin.TabularInline):
    model = PolicyTarget
    extra = 0


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "at_risk_share", "office_calendar", "always_calendar", "updated_at")
    inlines = [PolicyTargetInline]


class ContractOverrideInline(admin.TabularInline):
    model = ContractOverride
    extra = 0


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ("organization", "policy", "service_window", "valid_from", "valid_to")
    list_filter = ("service_window", "policy")
    list_select_related = ("organization", "policy")
    inlines = [ContractOverrideInline]
