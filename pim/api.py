"""Shared API pieces: pagination, error mapping, and the tenant-scoped base view."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import translation
from django_scopes.state import state as scope_state
from rest_framework import exceptions, pagination, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import IllegalStateChange
from .idempotency import IdempotencyMixin
from .scoping import organization_id_for


class Pagination(pagination.PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is too large."
    default_code = "too_large"


def exception_handler(exc, context):
    """Map service-layer errors onto the API's error contract (DESIGN §5)."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
            if any(e.code == "too_large" for v in exc.error_dict.values() for e in v):
                return Response(detail, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        else:
            detail = {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, IllegalStateChange):
        exc = Conflict(exc.message)
    return drf_exception_handler(exc, context)


class TenantScopedMixin(IdempotencyMixin):
    """Activate the caller's django-scopes scope once DRF has authenticated them (token auth
    happens inside the view, after the middleware)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.user.is_authenticated:
            # Token users are only known here, after UserLanguageMiddleware ran: speak their
            # language in error messages too (the middleware does this for session users).
            if getattr(request.user, "language", None):
                translation.activate(request.user.language)
                request.LANGUAGE_CODE = request.user.language
            current = dict(scope_state.get() or {})
            current.update({"_enabled": True, "organization": organization_id_for(request.user)})
            scope_state.set(current)

    def dispatch(self, request, *args, **kwargs):
        token = scope_state.set(scope_state.get())
        language = translation.get_language()
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            scope_state.reset(token)
            translation.activate(language)  # the token user's language ends with the request
