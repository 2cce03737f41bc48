"""Texts of Django 6.1 and its admin that Django's own Dutch catalogue does not translate yet.

Django looks a text up in LOCALE_PATHS (our locale/) before its own catalogues, so a Dutch
translation in locale/nl/LC_MESSAGES/django.po fills the gap. `make messages` only collects
texts from our code, so they are named here (never called: makemessages reads the calls). The
admin's JavaScript texts (its calendar and clock) are in locale/nl/LC_MESSAGES/djangojs.po.
tests/test_admin.py renders the admin in Dutch and finds none of them in English.
"""

from django.utils.translation import gettext, ngettext


def _texts():  # pragma: no cover - for makemessages only
    # django/db/models/fields/__init__.py (BLANK_CHOICE_LABEL), core validation and views
    gettext("- Select an option -")
    gettext("“%(value)s” is not a valid binary value.")
    gettext("No %s matches the given query.")
    ngettext(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
        0,
    )
    # django/contrib/admin (templates and views)
    gettext('The app "%s" could not be found.')
    ngettext("…and %(count)d more object.", "…and %(count)d more objects.", 0)
    gettext("Filter by %(field_name)s")
    gettext(
        "Deleting the %(object_name)s “%(escaped_object)s” would result in deleting related "
        "objects, but your account doesn't have permission to delete the following types of "
        "objects:"
    )
    gettext(
        "Deleting the %(object_name)s “%(escaped_object)s” would require deleting the following "
        "protected related objects:"
    )
    gettext(
        "Are you sure you want to delete the %(object_name)s “%(escaped_object)s”? All of the "
        "following related items will be deleted:"
    )
    gettext("Forgotten your login credentials?")
    gettext("Pagination %(name)s entries")
    gettext("Pagination %(name)s")
    gettext("Search %(name)s")
    gettext("Logout")
