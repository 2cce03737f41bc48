from django.contrib import admin

from .models import KnownError, KnownErrorFollower, Problem, ProblemIncident, WorkaroundSent


class ProblemIncidentInline(admin.TabularInline):
    model = ProblemIncident
    fk_name = "problem"
    extra = 0
    raw_id_fields = ("incident", "linked_by")


@admin.register(Problem)
class ProblemAdmin(admin.ModelAdmin):
    list_display = ("ticket", "impact", "urgency", "owner")
    list_filter = ("impact", "urgency")
    search_fields = ("ticket__number", "ticket__title")
    raw_id_fields = ("ticket", "owner")
    inlines = [ProblemIncidentInline]


@admin.register(KnownError)
class KnownErrorAdmin(admin.ModelAdmin):
    list_display = ("title", "problem", "fixed_at")
    list_filter = ("fixed_at",)
    search_fields = ("title", "symptoms", "workaround")
    raw_id_fields = ("problem", "fix_change", "created_by")
    filter_horizontal = ("services", "published_to")


@admin.register(KnownErrorFollower)
class KnownErrorFollowerAdmin(admin.ModelAdmin):
    list_display = ("known_error", "user", "followed_at", "told_at")
    raw_id_fields = ("known_error", "user")


@admin.register(WorkaroundSent)
class WorkaroundSentAdmin(admin.ModelAdmin):
    list_display = ("known_error", "user", "incident", "sent_at")
    raw_id_fields = ("known_error", "user", "incident", "sent_by")
