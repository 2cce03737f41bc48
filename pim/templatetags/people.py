"""How people are named on pages and in e-mails: the full name, the username only when a user
has no name (issue 12 item 7: customers never read bare usernames where a name exists)."""

from django import template
from django.utils.translation import gettext as _

register = template.Library()


def display_name(user):
    if user is None:
        return _("System")
    return user.get_full_name() or user.get_username()


@register.filter
def full_name(user):
    """`{{ ticket.reporter|full_name }}`: "Anna de Vries", or "acme.user" without a name."""
    return display_name(user)
