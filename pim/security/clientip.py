"""The client's address, the one every throttle and limit counts by.

`REMOTE_ADDR` unless `TRUSTED_PROXY_COUNT` (default 0) says how many proxies of our own stand in
front of the application: then the address that the outermost of them saw, taken from the right
of `X-Forwarded-For` exactly as DRF's `NUM_PROXIES` does (settings set both from the one value).
A client can put anything in `X-Forwarded-For`; only the entries our proxies appended count.
"""

from django.conf import settings


def client_ip(request):
    meta = request.META
    remote_addr = meta.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote_addr
    addrs = forwarded.split(",")
    return addrs[-min(proxies, len(addrs))].strip() or remote_addr
