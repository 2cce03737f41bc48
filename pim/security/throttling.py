"""DRF's throttles, counting by `client_ip` (TRUSTED_PROXY_COUNT) and reading the clock when
they run (a class attribute `timer = time.time` breaks when DRF is first imported under
freezegun: the fake function becomes a method).

They count in fixed windows: one counter per client and window in the cache, raised atomically
(Redis INCR), where DRF keeps a list of every request's time that each request reads and writes
whole (600 timestamps pickled twice per request at 600/min). A client has `num_requests` per
window of the rate's period (a minute); Retry-After is the rest of the window. At a window's
edge a client can send up to twice the rate within one period, the usual price of a counter.
"""

import math
import time

from rest_framework import throttling

from .clientip import client_ip


class _ClientAddress:
    def get_ident(self, request):
        return client_ip(request)

    def timer(self):
        return time.time()


class _Counting(throttling.SimpleRateThrottle):
    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        key = f"{self.key}:{window}"
        try:
            count = self.cache.incr(key)
        except ValueError:  # the window's first request (or its counter expired)
            count = 1 if self.cache.add(key, 1, timeout=self.duration + 1) else self.cache.incr(key)
        # None: the cache is away (Redis down is a logged miss): nothing counts meanwhile
        return count is None or count <= self.num_requests

    def wait(self):
        return max(1, math.ceil(self.window_ends - self.now))


class AnonRateThrottle(_ClientAddress, throttling.AnonRateThrottle, _Counting):
    pass


class UserRateThrottle(_ClientAddress, throttling.UserRateThrottle, _Counting):
    pass


class ScopedRateThrottle(_ClientAddress, throttling.ScopedRateThrottle, _Counting):
    pass
