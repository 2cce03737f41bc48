"""What billing adds to the ticket page (registered in BillingConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from tickets import extensions

AUDIT_ACTIONS = {
    "time_added": _("recorded time"),
    "time_changed": _("changed a time entry"),
    "time_deleted": _("removed a time entry"),
}
AUDIT_FIELDS = {
    "user": _("worked by"),
    "worked_on": _("worked on"),
    "minutes": _("minutes"),
    "description": _("description"),
    "category": _("category"),
}


def register():
    extensions.register_audit_words(actions=AUDIT_ACTIONS, fields=AUDIT_FIELDS)
