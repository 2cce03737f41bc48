"""Rates per year (kept here) and time entries (read here; written on the ticket page and through
the API, which audit every change)."""

from django import forms
from django.contrib import admin

from pim.admin import ReadOnlyAdmin
from pim.admin_history import ValuesInHistoryMixin

from . import bundles
from .models import Bundle, ClosedMonth, Correction, TimeEntry, YearRate


@admin.register(YearRate)
class YearRateAdmin(ValuesInHistoryMixin, admin.ModelAdmin):
    list_display = ["year", "hourly_rate", "bundle_rate", "vat_rate"]
    ordering = ["-year"]


@admin.register(TimeEntry)
class TimeEntryAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "worked_on", "user", "minutes", "category", "billable"]
    list_filter = ["billable", "category", "worked_on"]
    list_select_related = ["ticket", "user"]
    search_fields = ["ticket__number", "description"]
    date_hierarchy = "worked_on"
    raw_id_fields = ["ticket", "user"]


@admin.register(ClosedMonth)
class ClosedMonthAdmin(ReadOnlyAdmin):
    """Written by the services only (closing on the billing page or the API, corrections by a
    reclassification), so that every change is checked and audited."""

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


class BundleAdminForm(forms.ModelForm):
    class Meta:
        model = Bundle
        fields = ["organization", "hours", "purchased_on", "note"]

    def clean(self):
        data = super().clean()
        if not self.errors:
            errors, _rate = bundles.purchase_problems(
                data.get("organization"), data.get("hours"), data.get("purchased_on"),
                data.get("note", ""),
            )  # fmt: skip
            for name, message in errors.items():
                self.add_error(name if name in self.fields else None, message)
        return data


@admin.register(Bundle)
class BundleAdmin(ValuesInHistoryMixin, admin.ModelAdmin):
    """Provider managers register bundles here (the rate is copied from the purchase year's
    rates); a bundle is not changed afterwards: draws and the recalculation keep it."""

    form = BundleAdminForm
    list_display = ["organization", "purchased_on", "hours", "rate", "minutes", "created_by"]
    list_filter = ["organization"]
    list_select_related = ["organization", "created_by"]
    ordering = ["organization__name", "purchased_on"]

    def _manager(self, request):
        return bundles.may_register_bundles(request.user)

    def has_add_permission(self, request):
        return self._manager(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff

    def save_model(self, request, obj, form, change):
        bundle = bundles.purchase(
            form.cleaned_data["organization"],
            request.user,
            hours=form.cleaned_data["hours"],
            purchased_on=form.cleaned_data["purchased_on"],
            note=form.cleaned_data.get("note", ""),
        )
        obj.pk = bundle.pk
        obj.__dict__.update(bundle.__dict__)
