"""Query filters that never turn odd input into a server error (shared by the API filtersets)."""

from datetime import UTC

import django_filters
from django import forms

MAX_ID = 2**63 - 1  # the largest primary key the database can hold


def parse_id(value):
    """A primary key from text (query string, URL), or None when it cannot be one."""
    value = str(value or "")
    return int(value) if value.isdigit() and int(value) <= MAX_ID else None


class IdFilter(django_filters.NumberFilter):
    """A primary key: a whole number within the database's range (never a 500 on 1e300)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class InstantFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant, compared in UTC (any offset the client sends, PostgreSQL or not)."""

    def filter(self, qs, value):
        return super().filter(qs, value.astimezone(UTC) if value else value)
