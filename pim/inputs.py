"""The input boundary: the limits every page form, query parameter and API field is held to.

One place for them (issue 13):

- ids: ASCII digits within the database's range (`pim.filters.parse_id`);
- control characters: none in paths, query strings and form or JSON text, except tab, line feed
  and carriage return (refused by `pim.middleware.InputBoundaryMiddleware` and
  `pim.parsers.JSONParser`); lone surrogates, which no database can store, count as such;
- instants: between 1970-01-01 and 9000-01-01 (UTC), so no time-zone conversion overflows
  (`validate_instant`, the form and API `DateTimeField`s below, and the services);
- JSON: at most `JSON_MAX_DEPTH` levels, checked on the raw bytes before parsing;
- text: the lengths below, used by the models (`max_length`), the forms and the serializers.
"""

import re
from datetime import UTC, date, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

MAX_ID = 2**63 - 1  # the largest primary key the database can hold

# --- text lengths (characters) ------------------------------------------------------------------
TITLE_MAX = 200
DESCRIPTION_MAX = 20_000  # a ticket's description; a maintenance notice's
UPDATE_BODY_MAX = 20_000  # an update, and the notes that become one (transition, not resolved)
NEXT_ACTIONS_MAX = 5_000
RESOLUTION_TEXT_MAX = 5_000  # cause, how it was fixed, follow-up actions
REASON_MAX = 2_000  # why a priority changed
ESCALATION_REASON_MAX = 5_000
MAINTENANCE_TEXT_MAX = 5_000  # emergency scenario, a status update's message
SHORT_NOTE_MAX = 500  # no-access note, discard reason
NOTES_MAX = 20_000  # a contract's scope notes (admin)
CANNED_TEXT_MAX = 8_000  # a canned response's text (admin), inserted into the composer
SEARCH_MAX = 200
PASSWORD_MAX = 4_096

# Every model TextField's limit (a test keeps this table complete). None: the system writes the
# field, never a request.
TEXT_LIMITS = {
    "tickets.Ticket.description": DESCRIPTION_MAX,
    "tickets.Ticket.resolution_cause": RESOLUTION_TEXT_MAX,
    "tickets.Ticket.resolution_how": RESOLUTION_TEXT_MAX,
    "tickets.Ticket.resolution_follow_up": RESOLUTION_TEXT_MAX,
    "tickets.Ticket.workaround_text": RESOLUTION_TEXT_MAX,
    "tickets.TicketUpdate.body": UPDATE_BODY_MAX,
    "tickets.TicketUpdate.next_actions": NEXT_ACTIONS_MAX,
    "tickets.PriorityChange.reason": REASON_MAX,
    "tickets.SatisfactionRating.comment": REASON_MAX,
    "sla.Contract.notes": NOTES_MAX,
    "sla.SlaDocumentVersion.description": DESCRIPTION_MAX,
    "sla.SlaDocumentVersion.objection_reason": DESCRIPTION_MAX,
    "sla.SlaDocumentVersion.consultation": DESCRIPTION_MAX,
    "sla.SlaDocumentStep.note": DESCRIPTION_MAX,
    "tickets.CannedResponse.body": CANNED_TEXT_MAX,
    "escalation.Escalation.reason": ESCALATION_REASON_MAX,
    "intake.InboundMessage.reason": SHORT_NOTE_MAX,
    "maintenance.MaintenanceNotice.description": DESCRIPTION_MAX,
    "maintenance.MaintenanceNotice.emergency_scenario": MAINTENANCE_TEXT_MAX,
    "maintenance.MaintenanceUpdate.message": MAINTENANCE_TEXT_MAX,
    "changes.ChangeRequest.type_reason": REASON_MAX,
    "changes.ChangeRequest.why": RESOLUTION_TEXT_MAX,
    "changes.ChangeRequest.cancel_reason": REASON_MAX,
    "changes.ChangeApproval.note": REASON_MAX,
    "reviews.PostIncidentReview.timeline": UPDATE_BODY_MAX,
    "reviews.PostIncidentReview.cause": RESOLUTION_TEXT_MAX,
    "reviews.PostIncidentReview.impact": RESOLUTION_TEXT_MAX,
    "reviews.PostIncidentReview.went_well": RESOLUTION_TEXT_MAX,
    "reviews.PostIncidentReview.went_wrong": RESOLUTION_TEXT_MAX,
    "reviews.ReviewAction.description": REASON_MAX,
    "billing.TimeEntry.description": REASON_MAX,
    "billing.Correction.reason": REASON_MAX,
    "problems.Problem.root_cause": RESOLUTION_TEXT_MAX,
    "problems.KnownError.symptoms": RESOLUTION_TEXT_MAX,
    "problems.KnownError.root_cause": RESOLUTION_TEXT_MAX,
    "problems.KnownError.workaround": RESOLUTION_TEXT_MAX,
    "intake.InboundMessage.body": None,  # the text of a received e-mail (intake)
    "pim.IdempotencyKey.response": None,  # a stored API response
}

# --- control characters -------------------------------------------------------------------------
# C0 controls but tab, LF and CR; DEL; C1 controls; lone surrogates (UTF-16 halves).
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# In a path nothing of the kind, not even a tab or a line break.
_CONTROL_IN_PATH = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def has_control_characters(value, path=False):
    return bool((_CONTROL_IN_PATH if path else _CONTROL_IN_TEXT).search(value))


def control_character_message(where):
    return _("%(where)s contains a control character; remove it and try again.") % {"where": where}


# --- instants -----------------------------------------------------------------------------------
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def instant_range_message():
    return _("Give a date and time between 1970-01-01 and 9000-01-01.")


def instant_in_range(value):
    """True for an aware datetime within EARLIEST..LATEST (naive ones are read in the current
    time zone, as Django does)."""
    if value is None:
        return True
    if timezone.is_naive(value):
        # A naive value near datetime.min/max cannot be made aware everywhere: compare the
        # wall-clock value with a day's margin first.
        if not datetime(1969, 12, 30) <= value <= datetime(9000, 1, 2):
            return False
        value = timezone.make_aware(value)
    return EARLIEST <= value <= LATEST


def validate_instant(value):
    if not instant_in_range(value):
        raise ValidationError(instant_range_message(), code="out_of_range")


def validate_instants(**values):
    """For the services: every given instant within range, or a ValidationError per field."""
    errors = {
        name: instant_range_message()
        for name, value in values.items()
        if not instant_in_range(value)
    }
    if errors:
        raise ValidationError(errors)


_MONTH = re.compile(r"\A(\d{4})-(\d{2})\Z", re.ASCII)


def parse_month(value):
    """The first day of the month "YYYY-MM" (1970-01 .. 8999-12), or None."""
    found = _MONTH.match(value or "") if isinstance(value, str) else None
    if found is None:
        return None
    year, month = int(found[1]), int(found[2])
    if not (EARLIEST.year <= year < LATEST.year and 1 <= month <= 12):
        return None
    return date(year, month, 1)


def month_message():
    return _("Give a month as YYYY-MM, between 1970-01 and 8999-12.")


class DateTimeFormField(forms.DateTimeField):
    """A form's date and time, within the supported range."""

    default_validators = [validate_instant]


class DateTimeApiField(serializers.DateTimeField):
    """An API date and time, within the supported range."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if not instant_in_range(parsed):
            raise serializers.ValidationError(instant_range_message(), code="out_of_range")
        return parsed


# --- lists of priorities (admin settings) --------------------------------------------------------


def parse_priorities(value):
    """The priorities of a comma-separated list such as "1,2" (1..5), or a ValidationError: the
    SLA and escalation code reads these settings with int()."""
    numbers = set()
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        if not (part.isascii() and part.isdigit() and 1 <= int(part) <= 5):
            raise ValidationError(
                _("Give priorities from 1 to 5, separated by commas (e.g. 1,2)."), code="invalid"
            )
        numbers.add(int(part))
    return numbers


# --- JSON depth ---------------------------------------------------------------------------------
JSON_MAX_DEPTH = 32
# A string: possessive, so no backtracking, and it always matches (an unterminated string, even
# one ending in a lone backslash, runs to the end), so the scan stays linear.
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN = frozenset(b"[{")


def json_depth(raw, stop_above=None):
    """The nesting depth of the JSON text `raw` (bytes), brackets inside strings not counted.
    Linear in the length; with `stop_above`, returns as soon as the depth exceeds it."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        if byte in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    return deepest
        elif depth:
            depth -= 1
    return deepest
