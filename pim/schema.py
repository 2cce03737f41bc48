"""OpenAPI post-processing: document the error contract of DESIGN §5 on every operation.

drf-spectacular documents the success responses; the errors every endpoint can give (400 with
field messages, 401/403 without data, 404 outside the caller's scope, 409, 413, 422, 429) are
the same shape everywhere, so they are added here once.
"""

from django.utils import translation
from drf_spectacular.views import SpectacularAPIView

ERROR_SCHEMA = {
    "type": "object",
    "description": "`detail` for general errors, or a list of messages per field.",
    "properties": {"detail": {"oneOf": [{"type": "string"}, {"type": "array"}]}},
    "additionalProperties": True,
}

ERRORS = {
    "400": "Invalid input: messages per field.",
    "401": "Not authenticated.",
    "403": "Not allowed for this user.",
    "404": "Not found, or outside the caller's organisation.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "409": "Conflict: an illegal transition, or a request still being processed.",
    "413": "The request or upload is too large.",
    "415": "Unsupported media type.",
    "422": "The Idempotency-Key was used for a different request.",
    "429": "Rate limited; see the Retry-After header.",
}


def add_error_responses(result, generator, request, public):
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                responses.setdefault(
                    code,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
            if method == "post":
                operation.setdefault("parameters", []).append(
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 255},
                        "description": "Retrying a POST with the same key returns the first "
                        "response and creates nothing twice (24 hours).",
                    }
                )
    return result


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema, in English (the API's language) whatever the portal's language; the
    `lang` parameter still asks for another."""

    def _get_schema_response(self, request):
        with translation.override(request.GET.get("lang") or "en"):
            return super()._get_schema_response(request)
