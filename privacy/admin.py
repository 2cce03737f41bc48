import json

from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from pim.admin import ReadOnlyAdmin
from pim.admin import UserAdmin as PimUserAdmin
from pim.filters import parse_id
from pim.models import User

from .export import export_person
from .models import AnonymisedTicket, PrivacyEvent


@admin.register(PrivacyEvent)
class PrivacyEventAdmin(ReadOnlyAdmin):
    """The privacy log is written by the code only: read it, never edit it."""

    list_display = ("at", "action", "subject_label", "actor", "via")
    list_filter = ("action", "via")
    search_fields = ("subject_label",)
    list_select_related = ("actor",)
    readonly_fields = ("action", "at", "actor", "via", "subject", "subject_label", "details")


@admin.register(AnonymisedTicket)
class AnonymisedTicketAdmin(PrivacyEventAdmin):
    list_display = ("ticket", "at", "event")
    list_filter = ()
    search_fields = ("ticket__number",)
    list_select_related = ("ticket", "event")
    readonly_fields = ("ticket", "at", "event")

    def get_object(self, request, object_id, from_field=None):
        # The primary key is the ticket (a one-to-one key): Django's overflow guard of integer
        # lookups does not cover it, so an id no column can hold raised OverflowError (500).
        if from_field is None and parse_id(object_id) is None:
            return None
        return super().get_object(request, object_id, from_field)


@admin.action(description=_("Export personal data (JSON, access request)"))
def export_personal_data(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(
            request, _("Select exactly one person to export."), level=messages.ERROR
        )
        return None
    person = queryset.get()
    data = export_person(person, actor=request.user, via="admin")
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="personal-data-{person.pk}-{data["exported_at"][:10]}.json"'
    )
    return response


# The user admin of pim with the export action added (pim does not know this app).
admin.site.unregister(User)


@admin.register(User)
class UserAdmin(PimUserAdmin):
    actions = [*(PimUserAdmin.actions or []), export_personal_data]
