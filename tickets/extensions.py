"""Extension points: how the apps above tickets add to the ticket pages and the ticket API
without tickets importing them (docs/architecture.md).

- The clock read path: `sla` registers one `ClockRead` in its AppConfig.ready(); the ticket
  lists, the ticket page and the API read SLA clocks only through `clock_read()`.
- Ticket page panels: `sla` (clock panel and its agent forms) and `escalation` (escalations,
  the escalate button) register a context hook; `render_ticket_detail` merges what they return.
- The P1/P2 phone notice: `sla` says what it tells a customer now (their contract, the clock).
- Audit words: an app whose writes are in a ticket's audit trail names its actions, fields and
  coded values in the reader's language (the ticket page's audit trail).
- The new-incident page: an app adds context while a customer types (problems: matching
  known errors).
- Ticket API parts: an app adds a read-only field to the ticket's API representation (changes:
  the `change` object of a change ticket) with the prefetch its rows need.
- List filters: an app owns a filter of `TicketFilter` that reads its rows (sla: the SLA target
  and its outcome, the month of an outage; escalation: the open escalation level), so a
  dashboard figure drills down to the list that makes it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class ClockRead:
    """What tickets may ask of the SLA clocks."""

    # queryset -> queryset with what a list row's countdown needs (lists sort by the ticket's
    # `next_due_at` summary column, which sla keeps)
    list_rows: Callable
    # queryset -> queryset with what the API's `sla` field needs, in a constant number of queries
    api_rows: Callable
    # (ticket, now, calendars memo) -> the ticket's clocks as of now (target, due_at, paused,
    # state, used_seconds); the memo dict is shared over the rows of one list
    clocks: Callable


@dataclass(frozen=True)
class ApiPart:
    """A read-only field of the ticket API that an upper app owns."""

    name: str
    # () -> a fresh read-only serializer field (source "*": it is given the ticket)
    field: Callable
    # queryset -> queryset with what the field reads, in a constant number of queries
    rows: Callable


_clock_read: ClockRead | None = None
_api_parts: dict[str, ApiPart] = {}
_detail_hooks: list[Callable] = []
_urgent_notice: Callable | None = None


def register_clock_read(read: ClockRead) -> None:
    global _clock_read
    _clock_read = read


def clock_read() -> ClockRead:
    if _clock_read is None:
        raise ImproperlyConfigured("No clock read path registered: is the sla app installed?")
    return _clock_read


def register_detail_context(hook: Callable) -> Callable:
    """`hook(request, ticket, forms)` returns context for the ticket page; `forms` holds the
    bound forms a failed POST re-renders (by context name)."""
    if hook not in _detail_hooks:
        _detail_hooks.append(hook)
    return hook


def detail_context(request, ticket, forms: dict) -> dict:
    context = {}
    for hook in _detail_hooks:
        context.update(hook(request, ticket, forms))
    return context


_new_ticket_hooks: list[Callable] = []


def register_new_ticket_context(hook: Callable) -> Callable:
    """`hook(request)` returns context for the new-incident page (problems: the published known
    errors that match the title a customer types, refreshed through htmx on the page's own
    URL)."""
    if hook not in _new_ticket_hooks:
        _new_ticket_hooks.append(hook)
    return hook


def new_ticket_context(request) -> dict:
    context = {}
    for hook in _new_ticket_hooks:
        context.update(hook(request))
    return context


def register_urgent_notice(provider: Callable) -> None:
    """`provider(organization_id, now)` says what the P1/P2 phone notice tells a customer of
    that organisation now (sla reads the contract and the calendars)."""
    global _urgent_notice
    _urgent_notice = provider


def urgent_notice(organization_id, now=None) -> dict:
    if _urgent_notice is None:
        return {"mode": "call"}
    return _urgent_notice(organization_id, now)


def register_api_part(part: ApiPart) -> None:
    _api_parts[part.name] = part


def api_parts() -> list[ApiPart]:
    return list(_api_parts.values())


_audit_words: dict[str, dict] = {"actions": {}, "fields": {}, "values": {}}


def register_audit_words(*, actions=None, fields=None, values=None) -> None:
    """`actions`: {code: label}; `fields`: {name: label}; `values`: {name: TextChoices}."""
    _audit_words["actions"].update(actions or {})
    _audit_words["fields"].update(fields or {})
    _audit_words["values"].update(values or {})


def audit_words() -> dict:
    return _audit_words


def _no_choices():
    return []


@dataclass(frozen=True)
class ListFilter:
    """A filter of every ticket list (`tickets.filters.TicketFilter`) that an upper app owns."""

    # (value, user, other cleaned filter values) -> Q over tickets
    q: Callable
    # () -> [(value, label)]: the values a choice filter accepts (none: TicketFilter's own field
    # validates the value, e.g. a month)
    choices: Callable = _no_choices


_list_filters: dict[str, ListFilter] = {}


def register_list_filter(name: str, flt: ListFilter) -> None:
    _list_filters[name] = flt


def list_filter(name: str) -> ListFilter | None:
    return _list_filters.get(name)


def list_filter_choices(name: str) -> list:
    flt = _list_filters.get(name)
    return list(flt.choices()) if flt else []
