"""DRF's throttles, counting by `client_ip` (TRUSTED_PROXY_COUNT) and reading the clock when
they run (a class attribute `timer = time.time` breaks when DRF is first imported under
freezegun: the fake function becomes a method)."""

import time

from rest_framework import throttling

from .clientip import client_ip


class _ClientAddress:
    def get_ident(self, request):
        return client_ip(request)

    def timer(self):
        return time.time()


class AnonRateThrottle(_ClientAddress, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_ClientAddress, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(_ClientAddress, throttling.ScopedRateThrottle):
    pass
