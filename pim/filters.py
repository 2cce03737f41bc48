"""Query filters that never turn odd input into a server error (shared by the API filtersets)."""

from datetime import UTC

import django_filters
from django import forms

from .inputs import MAX_ID, validate_instant

__all__ = ["MAX_ID", "IdFilter", "InstantFilter", "parse_id"]

_MAX_ID_DIGITS = len(str(MAX_ID))


def parse_id(value):
    """A primary key from text (query string, URL, form), or None when it cannot be one: ASCII
    digits only (`str.isdigit()` also accepts '²', which int() refuses), 1..MAX_ID."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 1 <= value <= MAX_ID else None
    value = value if isinstance(value, str) else ""
    if not (value.isascii() and value.isdigit()) or len(value) > _MAX_ID_DIGITS:
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


class IdFilter(django_filters.NumberFilter):
    """A primary key: a whole number within the database's range (never a 500 on 1e300)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class _InstantField(django_filters.fields.IsoDateTimeField):
    default_validators = [validate_instant]


class InstantFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant between 1970 and 9000, compared in UTC (any offset the client sends,
    PostgreSQL or not)."""

    field_class = _InstantField

    def filter(self, qs, value):
        return super().filter(qs, value.astimezone(UTC) if value else value)
