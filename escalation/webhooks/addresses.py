"""The SSRF guard: webhooks go to public addresses only, unless an admin allowed private ones.

Checked when an endpoint is saved and again before each send (the name may resolve elsewhere by
then: DNS rebinding).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def _refusal(address):
    """Why an address may not be called, or None."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    checks = [
        ("is_loopback", _("loopback")),
        ("is_link_local", _("link-local")),
        ("is_unspecified", _("unspecified")),
        ("is_multicast", _("multicast")),
        ("is_reserved", _("reserved")),
        ("is_private", _("private")),
    ]
    for attr, label in checks:
        if getattr(ip, attr):
            return label
    return None if ip.is_global else _("non-public")


def resolve(host, port):
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def validate_url(url, *, allow_private=False):
    """Refuse non-http(s) URLs and, unless allowed, hosts resolving to internal addresses."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(_("Only http(s) URLs with a host name can receive webhooks."))
    if parts.username or parts.password:
        raise ValidationError(_("Webhook URLs may not carry credentials."))
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = resolve(parts.hostname, port)
    except (OSError, ValueError, UnicodeError) as exc:
        raise ValidationError(
            _("The host %(host)s does not resolve.") % {"host": parts.hostname}
        ) from exc
    for address in addresses:
        label = _refusal(address.split("%")[0])
        if label:
            raise ValidationError(
                _(
                    "Refused: %(host)s resolves to %(address)s, a %(rule)s address. Webhooks "
                    "are only sent to public addresses."
                )
                % {"host": parts.hostname, "address": address, "rule": label}
            )
