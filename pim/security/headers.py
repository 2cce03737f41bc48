"""Response headers Django has no setting for: Permissions-Policy.

Content-Security-Policy, Referrer-Policy and Cross-Origin-Opener-Policy come from Django itself
(SECURE_CSP, SECURE_REFERRER_POLICY, SECURE_CROSS_ORIGIN_OPENER_POLICY).
"""

from django.conf import settings


def build_permissions_policy(policy):
    """{"camera": [], "fullscreen": ["self"]} → 'camera=(), fullscreen=(self)'."""
    return ", ".join(f"{feature}=({' '.join(allowlist)})" for feature, allowlist in policy.items())


class PermissionsPolicyMiddleware:
    """Set Permissions-Policy from settings.PERMISSIONS_POLICY unless the view set its own."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = build_permissions_policy(getattr(settings, "PERMISSIONS_POLICY", {}))

    def __call__(self, request):
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response
