"""Who else has a ticket open ("also working on this", issue 15 item 3).

The ticket page of provider staff sends a heartbeat every ~15 seconds and while its reply is
being typed; each heartbeat is kept in the cache (Redis in production, the file cache on the
embedded defaults) under one key per ticket, and forgotten after PRESENCE_SECONDS. Nothing is
stored in the database: presence is a hint, and a lost heartbeat (a cache outage, two beats
racing on the same key) is repaired by the next one.
"""

from django.core.cache import cache
from django.utils import timezone

from pim.templatetags.people import display_name

PRESENCE_SECONDS = 45  # an open page beats every ~15 s: three missed beats and it is gone
TYPING_SECONDS = 20  # "is writing a reply" this long after the last key press was reported


def _key(ticket) -> str:
    return f"pim:presence:ticket:{ticket.pk}"


def _now() -> float:
    return timezone.now().timestamp()


def _live(entries, now):
    if not isinstance(entries, dict):
        return {}
    return {uid: e for uid, e in entries.items() if now - e.get("seen", 0) < PRESENCE_SECONDS}


def beat(ticket, user, *, typing: bool = False) -> None:
    """`user` has `ticket` open now (and is typing a reply, if `typing`)."""
    now = _now()
    entries = _live(cache.get(_key(ticket)), now)
    previous = entries.get(user.pk) or {}
    entries[user.pk] = {
        "name": display_name(user),
        "seen": now,
        "typing": now if typing else previous.get("typing", 0),
    }
    cache.set(_key(ticket), entries, PRESENCE_SECONDS)


def others(ticket, user) -> list[dict]:
    """The other people who have `ticket` open: [{"name", "typing"}], typists first."""
    now = _now()
    present = [
        {"name": e.get("name", ""), "typing": now - e.get("typing", 0) < TYPING_SECONDS}
        for uid, e in _live(cache.get(_key(ticket)), now).items()
        if uid != user.pk
    ]
    return sorted(present, key=lambda p: (not p["typing"], p["name"]))
