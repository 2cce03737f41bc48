from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Location, Membership, Organization, Service, User
from .security import bruteforce


class MembershipInline(admin.StackedInline):
    model = Membership
    can_delete = False
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = ("username", "email", "first_name", "last_name", "role_display", "is_active")
    list_select_related = ("membership", "membership__organization")
    list_filter = ("membership__role", "membership__organization", "is_active")
    fieldsets = (*BaseUserAdmin.fieldsets, (_("Preferences"), {"fields": ("language",)}))
    actions = ["lift_sign_in_blocks"]

    @admin.action(description=_("Lift sign-in blocks (failed password counts)"))
    def lift_sign_in_blocks(self, request, queryset):
        users = list(queryset)
        held = sum(bruteforce.lift(user.get_username()) for user in users)
        names = ", ".join(user.get_username() for user in users)
        message = ngettext(
            "Sign-in counts cleared for %(names)s; %(count)d address was held back.",
            "Sign-in counts cleared for %(names)s; %(count)d addresses were held back.",
            held,
        ) % {"names": names, "count": held}
        self.message_user(request, message, messages.SUCCESS)

    @admin.display(description=_("role"))
    def role_display(self, obj):
        try:
            membership = obj.membership
        except Membership.DoesNotExist:
            return "—"
        org = f" · {membership.organization}" if membership.organization_id else ""
        return f"{membership.get_role_display()}{org}"


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0


class LocationInline(admin.TabularInline):
    model = Location
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "phone", "is_active")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [ServiceInline, LocationInline]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "organization")
    list_filter = ("organization",)
    list_select_related = ("organization",)


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("name", "address", "organization")
    list_filter = ("organization",)
    list_select_related = ("organization",)
