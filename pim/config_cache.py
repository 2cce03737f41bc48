"""Process-local copies of configuration that is read on every ticket write and changes rarely:
the SLA terms of an organisation, kind and day, the built business calendars, the active
escalation triggers, and which organisations have no webhook endpoint.

The copies are exact, not eventually right: each is kept under the shared *generation*, a
token in the cache (Redis in production) that every change of such configuration replaces, at
once and again when the changing transaction commits (a reader in between cannot keep a copy of
the rows of before). A copy of another generation is built again from the database. A request
reads the generation once (`ConfigCacheMiddleware`), so a ticket write costs one small cache
read instead of one pickled value per item; outside a request each read asks the cache.
Without a cache (Redis down) nothing is kept and every read goes to the database.

Changes must go through a model's save() or delete() (their receivers call `changed()`); after
a QuerySet.update() of such rows, which sends no signal, call `changed()` yourself.
"""

import contextvars
import threading
import uuid

from django.core.cache import cache
from django.db import transaction

GENERATION_KEY = "pim:config-generation"
MAX_COPIES = 4096  # terms per organisation, kind and day accumulate; start over beyond this

_copies: dict = {}  # key -> (generation, value)
_lock = threading.Lock()
_request = contextvars.ContextVar("pim_config_generation", default=None)


def generation():
    """The current generation (None without a cache); read once per request."""
    memo = _request.get()
    if memo is not None and "generation" in memo:
        return memo["generation"]
    found = cache.get(GENERATION_KEY)
    if found is None:  # first use, or the cache was emptied: copies of before are stale
        cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        found = cache.get(GENERATION_KEY)
    if memo is not None:
        memo["generation"] = found
    return found


def get(key, build):
    """The copy of `key` (hashable, named by its app) of the current generation; `build()` makes
    it when there is none. Copies are shared by the process's threads: read them, never change
    them."""
    current = generation()
    found = _copies.get(key)
    if found is not None and current is not None and found[0] == current:
        return found[1]
    value = build()
    if current is not None:
        with _lock:
            if len(_copies) >= MAX_COPIES:
                _copies.clear()
            _copies[key] = (current, value)
    return value


def changed():
    """Configuration changed: every process builds its copies again (now, and again when the
    current transaction commits)."""
    _new_generation()
    transaction.on_commit(_new_generation)


def _new_generation():
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    memo = _request.get()
    if memo is not None:
        memo.pop("generation", None)  # this request sees its own change


def clear():
    """Forget every copy of this process (tests: the database is rolled back between them)."""
    with _lock:
        _copies.clear()


class ConfigCacheMiddleware:
    """One generation read per request: what a request builds on stays the same throughout."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set({})
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
