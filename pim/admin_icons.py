"""The admin's yes/no icons in the reader's language (issue 15 item 9).

Django 6.1 draws a boolean (a BooleanField column or read-only field, an
`@admin.display(boolean=True)`) with django/contrib/admin/templatetags/admin_list.py's
`_boolean_icon`: `format_html('<img src="{}" alt="{}">', icon_url, field_val)`. Its alt text is
the Python value itself, "True", "False" or "None": no gettext call, so no catalogue (neither
Django's nor ours in locale/) can translate it, and a Dutch admin hears "True".

The least invasive remedy is to replace that one private function by an equal one whose alt is
the words Django's own boolean filter uses: "Yes", "No", "Unknown" (Ja, Nee, Onbekend). Its
callers (utils.py's display_for_field and display_for_value, which draw the list's cells, and
helpers.py's read-only fields) import it from admin_list inside the function, at call time, so
they all find the replacement, and the markup is otherwise Django's. The alternatives were
worse: rewriting every admin response's HTML, overriding the list and fieldset templates to
rewrite already rendered cells, or a display method per boolean column in every ModelAdmin
(which misses read-only fields and the next column someone adds). tests/test_admin.py checks
that Django's own function still renders as described here, so an upgrade that changes it (or
translates it) fails there and this module can be reviewed or go.
"""

from django.contrib.admin.templatetags import admin_list
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

DJANGO_BOOLEAN_ICON = admin_list._boolean_icon
ICONS = {True: ("yes", _("Yes")), False: ("no", _("No")), None: ("unknown", _("Unknown"))}


def boolean_icon(field_val):
    """Django's `_boolean_icon`, with an alt text in the reader's language."""
    icon, text = ICONS[field_val]
    return format_html('<img src="{}" alt="{}">', static(f"admin/img/icon-{icon}.svg"), text)


def install():
    admin_list._boolean_icon = boolean_icon
