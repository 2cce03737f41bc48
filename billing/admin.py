"""Rates per year (kept here) and time entries (read here; written on the ticket page and through
the API, which audit every change)."""

from django.contrib import admin

from pim.admin_history import ValuesInHistoryMixin

from .models import ClosedMonth, Correction, TimeEntry, YearRate


@admin.register(YearRate)
class YearRateAdmin(ValuesInHistoryMixin, admin.ModelAdmin):
    list_display = ["year", "hourly_rate", "bundle_rate", "vat_rate"]
    ordering = ["-year"]


@admin.register(TimeEntry)
class TimeEntryAdmin(admin.ModelAdmin):
    list_display = ["ticket", "worked_on", "user", "minutes", "category", "billable"]
    list_filter = ["billable", "category", "worked_on"]
    list_select_related = ["ticket", "user"]
    search_fields = ["ticket__number", "description"]
    date_hierarchy = "worked_on"
    raw_id_fields = ["ticket", "user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the services only (closing on the billing page or the API, corrections by a
    reclassification), so that every change is checked and audited."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ClosedMonth)
class ClosedMonthAdmin(ReadOnlyAdmin):
    list_display = ["organization", "month", "closed_at", "closed_by"]
    list_filter = ["month"]
    list_select_related = ["organization", "closed_by"]


@admin.register(Correction)
class CorrectionAdmin(ReadOnlyAdmin):
    list_display = [
        "organization",
        "month",
        "ticket",
        "worked_on",
        "from_category",
        "to_category",
        "billable_minutes",
    ]
    list_filter = ["month"]
    list_select_related = ["organization", "ticket"]
    raw_id_fields = ["ticket", "entry"]
