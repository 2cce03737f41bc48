"""Shared serializer bases for the API."""

import copy

from rest_framework import serializers


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer with its fields built once per class: what it derives from the
    model's metadata (~0.8 ms for a ticket) is the same for every request, so each serializer
    gets a deep copy of that set, as DRF copies its declared fields. What depends on the request
    (querysets, read-only for a role) stays in the subclasses' get_fields, on the copy."""

    def get_fields(self):
        cls = type(self)
        prebuilt = cls.__dict__.get("_prebuilt_fields")
        if prebuilt is None:
            prebuilt = super().get_fields()
            cls._prebuilt_fields = prebuilt
        return copy.deepcopy(prebuilt)
