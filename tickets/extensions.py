"""Extension points: how the apps above tickets add to the ticket pages and the ticket API
without tickets importing them (docs/architecture.md).

- The clock read path: `sla` registers one `ClockRead` in its AppConfig.ready(); the ticket
  lists, the ticket page and the API read SLA clocks only through `clock_read()`.
- Ticket page panels: `sla` (clock panel and its agent forms) and `escalation` (escalations,
  the escalate button) register a context hook; `render_ticket_detail` merges what they return.
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
    # (ticket, now) -> the ticket's clocks as of now (target, due_at, paused, state, used_seconds)
    clocks: Callable
    # (queryset, state) -> the tickets with a clock in that state (pending, at_risk, met, breached)
    filter_state: Callable


_clock_read: ClockRead | None = None
_detail_hooks: list[Callable] = []


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
