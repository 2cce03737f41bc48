from django.utils import translation

from .scoping import user_scope


class UserLanguageMiddleware:
    """Activate the language stored on the user (Dutch by default, English per user)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)


class TenantScopeMiddleware:
    """Run each request inside its user's tenant scope (django-scopes safety net)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with user_scope(request.user):
            return self.get_response(request)
