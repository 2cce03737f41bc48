"""Shared serializer bases for the API."""

import copy

from rest_framework import serializers


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer with its fields built once per class: what it derives from the
    model's metadata (~0.8 ms for a ticket) is the same for every request, so each serializer
    gets a copy of that set. What depends on the request (querysets, read-only for a role)
    stays in the subclasses' get_fields, on the copy."""

    def get_fields(self):
        cls = type(self)
        prebuilt = cls.__dict__.get("_prebuilt_fields")
        if prebuilt is None:
            prebuilt = super().get_fields()
            cls._prebuilt_fields = prebuilt
        return {name: _copy(field) for name, field in prebuilt.items()}


def _copy(field):
    """A field for one serializer. Binding and validation set their state as attributes of the
    field itself (name, parent, source; its validators and choices are made once, when it is
    built, and only read), so a shallow copy is enough: a third of a deep copy's cost, which
    re-creates each field from its arguments. A field holding other bound fields (a nested
    serializer, a list's child) gets a deep copy: those belong to their parent."""
    if (
        isinstance(field, serializers.BaseSerializer)
        or hasattr(field, "child")
        or hasattr(field, "child_relation")
    ):
        return copy.deepcopy(field)
    return copy.copy(field)
