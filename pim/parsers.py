"""The API's parsers (the body half of the input boundary, pim/inputs.py): JSON depth checked
on the raw bytes before parsing; control characters refused in every key and string of a JSON
body and in every field of a form body (PATCH forms never pass the middleware)."""

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers
from rest_framework.utils import json

from . import inputs


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        if inputs.json_depth(raw, stop_above=inputs.JSON_MAX_DEPTH) > inputs.JSON_MAX_DEPTH:
            raise exceptions.ParseError(
                _("JSON nested too deeply (at most %(depth)s levels).")
                % {"depth": inputs.JSON_MAX_DEPTH}
            )
        try:
            text = raw.decode(encoding)
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from exc
        where = _find_control_characters(data)
        if where is not None:
            raise exceptions.ParseError(inputs.control_character_message(where))
        return data


def _find_control_characters(data, path="$"):
    """The JSON path of the first key or string with a control character, or None. The depth
    is bounded above, so the recursion is too."""
    if isinstance(data, str):
        return path if inputs.has_control_characters(data) else None
    if isinstance(data, dict):
        for key, value in data.items():
            if inputs.has_control_characters(key):
                return _("a key in %(path)s") % {"path": path}
            found = _find_control_characters(value, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found = _find_control_characters(value, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _check_form(data):
    for name, values in data.lists():
        if inputs.has_control_characters(name):
            raise exceptions.ParseError(inputs.control_character_message(_("A field name")))
        if any(isinstance(v, str) and inputs.has_control_characters(v) for v in values):
            raise exceptions.ParseError(
                inputs.control_character_message(_("The field “%(name)s”") % {"name": name})
            )


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _check_form(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _check_form(result.data)
        for name, upload in result.files.items():
            if inputs.has_control_characters(name) or inputs.has_control_characters(
                upload.name or ""
            ):
                raise exceptions.ParseError(
                    inputs.control_character_message(_("The name of an uploaded file"))
                )
        return result
