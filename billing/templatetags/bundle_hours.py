from django import template

from billing.bundles import hours_text

register = template.Library()


@register.filter
def hm(minutes):
    """Minutes as hours and minutes: 125 → "2:05"."""
    return hours_text(int(minutes or 0))
