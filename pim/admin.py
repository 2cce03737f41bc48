# django-otp's admin modules register their device admins on import; imported here first so
# that this module can replace them (the autodiscovery after pim's finds them imported).
import django_otp.plugins.otp_static.admin as otp_static_admin
import django_otp.plugins.otp_totp.admin as otp_totp_admin
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_value
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Location, Membership, Organization, Service, User
from .security import bruteforce

# Django stores a permission's name in English when it migrates ("Can add ticket"); the four
# default ones are named again here, in the reader's language, with the model's translated name.
PERMISSION_ACTIONS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


def permission_label(permission):
    model = permission.content_type.model_class()
    action = permission.codename.split("_", 1)[0]
    name = permission.name
    default = model is not None and permission.codename == f"{action}_{model._meta.model_name}"
    if default and action in PERMISSION_ACTIONS:
        name = PERMISSION_ACTIONS[action] % {"model": model._meta.verbose_name}
    return f"{permission.content_type} | {name}"


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows the code alone writes (through its services, checked and audited: a billing
    month's close, a privacy log entry, a monthly SLA report as it was sent): readable in the
    admin, never added, changed or deleted there."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TranslatedPermissionsMixin:
    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name in ("permissions", "user_permissions"):
            field.label_from_instance = permission_label
        return field


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(TranslatedPermissionsMixin, BaseGroupAdmin):
    pass


class MembershipInline(admin.StackedInline):
    model = Membership
    can_delete = False
    extra = 0


@admin.register(User)
class UserAdmin(TranslatedPermissionsMixin, BaseUserAdmin):
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


# --- two-factor devices (django-otp) ------------------------------------------------------------
# django-otp's admin speaks English only (its labels are plain strings). Admins need one thing
# here: delete a lost phone's authenticator (or a used-up set of recovery codes), after which the
# user links a new app at the next login. So the devices are shown read-only, in the reader's
# language, and can be deleted; a secret is never shown (OTP_ADMIN_HIDE_SENSITIVE_DATA).

# Names only (Meta.verbose_name is not part of a migration's state, so no migration follows).
apps.get_app_config("otp_totp").verbose_name = _("Two-factor login: authenticator apps")
apps.get_app_config("otp_static").verbose_name = _("Two-factor login: recovery codes")
TOTPDevice._meta.verbose_name = _("authenticator app")
TOTPDevice._meta.verbose_name_plural = _("authenticator apps")
StaticDevice._meta.verbose_name = _("set of recovery codes")
StaticDevice._meta.verbose_name_plural = _("recovery codes")


class DeviceAdminMixin:
    list_display = ["owner", "device_name", "created", "last_used", "is_confirmed"]
    list_filter = []
    list_select_related = ["user"]
    search_help_text = _("Search by username or e-mail address")
    readonly_fields = ["owner", "device_name", "is_confirmed", "created", "last_used", "failures"]
    inlines = []

    def get_fieldsets(self, request, obj=None):
        return [(None, {"fields": self.readonly_fields})]

    def has_add_permission(self, request):
        return False  # users link their own app at their first login

    def has_change_permission(self, request, obj=None):
        return False

    def shown(self, value):
        # A read-only column of a method is printed as is: dates in local time, like fields.
        return display_for_value(value, self.get_empty_value_display())

    @admin.display(description=_("user"), ordering="user__username")
    def owner(self, device):
        return device.user.get_username()

    @admin.display(description=_("name"), ordering="name")
    def device_name(self, device):
        return device.name

    @admin.display(description=_("confirmed"), boolean=True, ordering="confirmed")
    def is_confirmed(self, device):
        return device.confirmed

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, device):
        return self.shown(device.created_at)

    @admin.display(description=_("last used"), ordering="last_used_at")
    def last_used(self, device):
        return self.shown(device.last_used_at)

    @admin.display(description=_("failed attempts in a row"))
    def failures(self, device):
        return device.throttling_failure_count


admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(DeviceAdminMixin, otp_totp_admin.TOTPDeviceAdmin):
    pass


@admin.register(StaticDevice)
class StaticDeviceAdmin(DeviceAdminMixin, otp_static_admin.StaticDeviceAdmin):
    pass
