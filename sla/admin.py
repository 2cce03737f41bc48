"""Calendars, policies and contracts. A correction recomputes the clocks of the open tickets it
touches: after a save, and by the action "Recompute clocks" (also on tickets), a Celery task
runs the code of `manage.py recompute_sla` for them, and the admin says how many."""

from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from pim import admin as pim_admin
from pim.admin_history import ValuesInHistoryMixin
from pim.models import Service
from tickets import admin as tickets_admin
from tickets.models import Ticket

from . import documents, majorchange, services, tasks
from .models import (
    Calendar,
    CalendarDate,
    Contract,
    ContractOverride,
    MonthlyReport,
    OpeningHours,
    PolicyTarget,
    ServiceKind,
    ServiceLevel,
    SlaDocumentStep,
    SlaDocumentVersion,
    SlaPolicy,
)


def queue_recompute(modeladmin, request, **scope):
    """Queue the recomputation of the open tickets `scope` touches (after the commit) and say
    how many; nothing to say when none is open."""
    scope = {name: sorted(ids) for name, ids in scope.items()}
    count = services.open_tickets_affected(**scope).count()
    if not count:
        return 0
    transaction.on_commit(lambda: tasks.recompute_open_tickets.delay(**scope))
    modeladmin.message_user(
        request,
        ngettext(
            "%(count)d open ticket is being recomputed.",
            "%(count)d open tickets are being recomputed.",
            count,
        )
        % {"count": count},
        messages.SUCCESS,
    )
    return count


def recompute_action(scope_name):
    @admin.action(description=_("Recompute clocks"))
    def recompute_clocks(modeladmin, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        if not queue_recompute(modeladmin, request, **{scope_name: ids}):
            modeladmin.message_user(request, _("No open ticket is affected."), messages.INFO)

    return recompute_clocks


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class CalendarDateInline(admin.TabularInline):
    model = CalendarDate
    extra = 1


@admin.register(Calendar)
class CalendarAdmin(ValuesInHistoryMixin, admin.ModelAdmin):
    list_display = ("name", "always_open", "timezone", "holiday_country", "updated_at")
    inlines = [OpeningHoursInline, CalendarDateInline]
    actions = [recompute_action("calendar_ids")]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # the saves renew the calendar
        if change:
            queue_recompute(self, request, calendar_ids=[form.instance.pk])


class PolicyTargetInline(admin.TabularInline):
    model = PolicyTarget
    extra = 0


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ValuesInHistoryMixin, admin.ModelAdmin):
    list_display = ("name", "at_risk_share", "office_calendar", "always_calendar", "updated_at")
    inlines = [PolicyTargetInline]
    actions = [recompute_action("policy_ids")]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            queue_recompute(self, request, policy_ids=[form.instance.pk])


class ContractOverrideInline(admin.TabularInline):
    model = ContractOverride
    extra = 0


@admin.register(Contract)
class ContractAdmin(ValuesInHistoryMixin, admin.ModelAdmin):
    list_display = ("organization", "policy", "service_window", "valid_from", "valid_to")
    list_filter = ("service_window", "policy")
    list_select_related = ("organization", "policy")
    inlines = [ContractOverrideInline]
    actions = [recompute_action("contract_ids")]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            queue_recompute(self, request, contract_ids=[form.instance.pk])


class SlaDocumentStepInline(admin.TabularInline):
    """The version's audit trail (read-only)."""

    model = SlaDocumentStep
    extra = 0
    can_delete = False
    fields = ("kind", "at", "actor", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SlaDocumentVersion)
class SlaDocumentVersionAdmin(ValuesInHistoryMixin, admin.ModelAdmin):
    """Staff register a version here; saving a new one announces it (once) to the
    organisation's authorised contacts. The notice rule and the PDF check are the model's
    (a form error). A registered version's file and dates stay as announced."""

    list_display = (
        "contract",
        "number",
        "date",
        "effective_from",
        "policy",
        "announced_at",
        "route_state",
        "applies_from",
    )
    list_filter = ("policy", "route_state")
    list_select_related = ("contract__organization", "policy")
    search_fields = ("number", "description", "contract__organization__name")
    readonly_fields = (
        "original_name",
        "announced_at",
        "created_by",
        "created_at",
        "worse_targets",
        "route_state",
        "applies_from",
        "objected_at",
        "objection_reason",
        "consulted_at",
        "consultation",
        "agreed_at",
        "agreed_on",
        "terminated_at",
        "terminates_on",
    )
    inlines = [SlaDocumentStepInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # a new version has no steps yet

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None:
            # the route's steps are taken on /sla/documents/ or the API, audited there; the
            # policy stays as announced (the Major Change check compared it at registration)
            return (
                *fields,
                "contract",
                "number",
                "document",
                "policy",
                "effective_from",
                "major_change",
            )
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            obj.announced_at = timezone.now()
            obj.original_name = (form.cleaned_data["document"].name or "")[-255:]
            majorchange.mark_on_registration(obj)
        super().save_model(request, obj, form, change)
        if not change:
            documents.announce(obj, now=obj.announced_at)


# The ticket admin of the tickets app with the action added (tickets does not know this app).
admin.site.unregister(Ticket)


@admin.register(Ticket)
class TicketAdmin(tickets_admin.TicketAdmin):
    actions = [*(tickets_admin.TicketAdmin.actions or []), recompute_action("ticket_ids")]


# The service admin of pim with the service level (SPEC §9: kind, yearly target, window) on it
# (pim does not know this app).
class ServiceLevelInline(admin.StackedInline):
    model = ServiceLevel
    can_delete = False
    min_num = 1
    max_num = 1


admin.site.unregister(Service)


@admin.register(Service)
class ServiceAdmin(ValuesInHistoryMixin, pim_admin.ServiceAdmin):
    inlines = [ServiceLevelInline]
    list_display = (*pim_admin.ServiceAdmin.list_display, "kind_display")
    list_select_related = ("organization", "level")
    list_filter = (*pim_admin.ServiceAdmin.list_filter, "level__kind")

    @admin.display(description=_("kind of service"))
    def kind_display(self, obj):
        level = getattr(obj, "level", None)
        return level.get_kind_display() if level else ServiceKind.SERVICE_SUPPORT.label


@admin.register(MonthlyReport)
class MonthlyReportAdmin(pim_admin.ReadOnlyAdmin):
    """Made (and mailed, once) by the monthly task or on demand on the reports page, where
    staff also download them: read-only here, so a report stays as it was sent."""

    list_display = ["organization", "month", "language", "generated_at", "mailed_at"]
    list_filter = ["month", "organization"]
    list_select_related = ["organization"]
    date_hierarchy = "month"
