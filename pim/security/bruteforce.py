"""Brute-force limits for sign-in (the login page, the admin, the API token endpoint: every
`authenticate()` call) and for password-reset requests, counted in the default cache.

A growing delay rather than a hard lock. Wrong passwords are counted per (account, address) and
per address (`client_ip`, so `X-Forwarded-For` counts only behind TRUSTED_PROXY_COUNT proxies).
Once a count reaches its limit, the next try waits one minute, and every further failure doubles
the wait, up to an hour. While the wait runs every try is refused, the right password too, and
is not counted. Nobody can lock a manager out: a count only ever holds back the address it came
from. The right password clears its (account, address) count; an admin lifts an account's
counts with the user admin's action (`lift`).

Records keep their timestamps in the value, so expiry does not depend on the cache's clock
(freezegun travels in tests on Redis too); the cache timeout only collects garbage. Two requests
racing through the same check can both be counted late: the excess is bounded by the number of
requests the server runs at once.
"""

import hashlib
import logging
import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import ngettext

from .clientip import client_ip

MAX_ADDRESSES_PER_ACCOUNT = 100
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    name: str
    setting: str  # the settings name of the number of free tries
    forget_seconds: int  # a count is forgotten this long after its last try's wait ended
    first_delay: int = 60
    max_delay: int = 3600

    @property
    def allowed(self):
        return getattr(settings, self.setting)

    def wait_until(self, count, last):
        if count < self.allowed:
            return last
        return last + min(self.first_delay * 2 ** min(count - self.allowed, 20), self.max_delay)

    def live_count(self, record, now):
        """The record's count, or 0 once it is forgotten."""
        if not record:
            return 0
        count, last = record
        return 0 if now > self.wait_until(count, last) + self.forget_seconds else count

    def wait(self, record, now):
        """Seconds until the next try is allowed (0: allowed now)."""
        if not self.live_count(record, now):
            return 0
        count, last = record
        return max(0, math.ceil(self.wait_until(count, last) - now))

    def counted(self, record, now):
        count = self.live_count(record, now) + 1
        return (count, now)

    def timeout(self, record):
        count, last = record
        return int(self.wait_until(count, last) - last) + self.forget_seconds + 60


LOGIN_ACCOUNT = Limit("account", "LOGIN_FAILURE_LIMIT", forget_seconds=24 * 3600)
LOGIN_ADDRESS = Limit("address", "LOGIN_FAILURE_LIMIT_PER_ADDRESS", forget_seconds=3600)
PASSWORD_RESET = Limit("reset", "PASSWORD_RESET_LIMIT", forget_seconds=3600)


def _now():
    return timezone.now().timestamp()


def _hash(value):
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _account_key(username):
    return f"pim:bf:account:{_hash((username or '').strip().casefold())}"


def _address_key(limit, address):
    return f"pim:bf:{limit.name}:{_hash(address or '')}"


# --- sign-in ------------------------------------------------------------------------------


def sign_in_wait(username, address):
    """Seconds before `username` may try a password from `address` again (0: now)."""
    now = _now()
    accounts = cache.get(_account_key(username)) or {}
    return max(
        LOGIN_ACCOUNT.wait(accounts.get(address), now),
        LOGIN_ADDRESS.wait(cache.get(_address_key(LOGIN_ADDRESS, address)), now),
    )


def sign_in_failed(username, address):
    now = _now()
    key = _account_key(username)
    accounts = cache.get(key) or {}
    accounts[address] = LOGIN_ACCOUNT.counted(accounts.get(address), now)
    if len(accounts) > MAX_ADDRESSES_PER_ACCOUNT:
        oldest = sorted(accounts, key=lambda a: accounts[a][1])[:-MAX_ADDRESSES_PER_ACCOUNT]
        for stale in oldest:
            del accounts[stale]
    cache.set(key, accounts, max(LOGIN_ACCOUNT.timeout(r) for r in accounts.values()))
    address_record = _count(LOGIN_ADDRESS, address, now)
    wait = max(LOGIN_ACCOUNT.wait(accounts[address], now), LOGIN_ADDRESS.wait(address_record, now))
    if wait:
        log.warning(
            "sign-in held back %ss for account %r from %s after %d failures (%d from the address)",
            wait, username, address, accounts[address][0], address_record[0],
        )  # fmt: skip


def sign_in_succeeded(username, address):
    key = _account_key(username)
    accounts = cache.get(key)
    if accounts and address in accounts:
        del accounts[address]
        if accounts:
            cache.set(key, accounts, max(LOGIN_ACCOUNT.timeout(r) for r in accounts.values()))
        else:
            cache.delete(key)


def blocked_addresses(username):
    """{address: seconds still to wait} of the account's current sign-in delays."""
    now = _now()
    accounts = cache.get(_account_key(username)) or {}
    waits = {
        address: max(
            LOGIN_ACCOUNT.wait(record, now),
            LOGIN_ADDRESS.wait(cache.get(_address_key(LOGIN_ADDRESS, address)), now),
        )
        for address, record in accounts.items()
    }
    return {address: wait for address, wait in waits.items() if wait}


def lift(username):
    """Forget the account's failures and those of the addresses they came from; returns how
    many addresses were held back."""
    key = _account_key(username)
    accounts = cache.get(key) or {}
    held = len(blocked_addresses(username))
    cache.delete_many([key] + [_address_key(LOGIN_ADDRESS, a) for a in accounts])
    return held


def sign_in_wait_message(seconds):
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
        "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


class BruteForceBackend:
    """First in AUTHENTICATION_BACKENDS: while a wait runs, refuse before any password is
    checked. Django's `authenticate()` turns the PermissionDenied into "no user" and sends
    `user_login_failed`; `request.sign_in_wait` tells the views to answer 429 + Retry-After.
    It has no `get_user`: it never signs anybody in, so neither the session loader nor the
    test client's `force_login` picks it."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        wait = sign_in_wait(username, client_ip(request))
        if wait:
            request.sign_in_wait = wait
            raise PermissionDenied(sign_in_wait_message(wait))
        return None


@receiver(user_login_failed, dispatch_uid="pim.security.bruteforce.failed")
def _count_failure(sender, credentials, request=None, **kwargs):
    if request is None or getattr(request, "sign_in_wait", 0):
        return  # refused while waiting: not counted, the wait does not grow from it
    username = credentials.get("username") or ""
    sign_in_failed(username, client_ip(request))


@receiver(user_logged_in, dispatch_uid="pim.security.bruteforce.succeeded")
def _clear_on_success(sender, request, user, **kwargs):
    if request is not None:
        sign_in_succeeded(user.get_username(), client_ip(request))


# --- password reset -----------------------------------------------------------------------


def _count(limit, address, now):
    key = _address_key(limit, address)
    record = limit.counted(cache.get(key), now)
    cache.set(key, record, limit.timeout(record))
    return record


def password_reset_wait(address):
    return PASSWORD_RESET.wait(cache.get(_address_key(PASSWORD_RESET, address)), _now())


def password_reset_requested(address):
    _count(PASSWORD_RESET, address, _now())


def password_reset_wait_message(seconds):
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many password reset requests. Try again in %(minutes)d minute.",
        "Too many password reset requests. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
