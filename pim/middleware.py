from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from . import inputs, uploads
from .refusals import input_refused, too_large_message
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


class CookieBoundaryMiddleware:
    """Drop cookies whose value holds a control character before the session and CSRF
    middleware read them: Django decodes octal escapes in a quoted cookie ("\\000" is NUL),
    and a NUL session key made PostgreSQL fail the session lookup (500). No browser sends such
    a cookie; without it the request is simply not logged in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, value in list(request.COOKIES.items()):
            if inputs.has_control_characters(name, path=True) or inputs.has_control_characters(
                value, path=True
            ):
                del request.COOKIES[name]
        return self.get_response(request)


def _is_multipart(request):
    return request.content_type == "multipart/form-data"


class RequestSizeLimitMiddleware:
    """Refuse bodies larger than we accept (413) before anything reads them: an upload up to
    MAX_REQUEST_BYTES, any other body (JSON, a form) up to DATA_UPLOAD_MAX_MEMORY_SIZE. JSON
    under /api/, the portal's page elsewhere. (Nothing before it in MIDDLEWARE reads the body.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MAX_REQUEST_BYTES
        if not _is_multipart(request) and settings.DATA_UPLOAD_MAX_MEMORY_SIZE is not None:
            limit = min(limit, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        if length > limit:
            if _is_multipart(request):
                return refuse_upload(request, length)
            return input_refused(request, too_large_message(limit), status=413)
        return self.get_response(request)


def refuse_upload(request, length):
    """An upload over the limit, refused unread. The API answers JSON 413; a ticket's form goes
    back to the ticket page with the error beside its file field; any other page is the
    portal's 413 page with the real limit and a link back to where the user came from."""
    message = uploads.too_large_upload_message(length)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=413)
    try:
        match = resolve(request.path_info)
    except Resolver404:
        match = None
    number = match.kwargs.get("number") if match else None
    if number and (match.url_name or "").startswith("ticket-"):
        uploads.remember_refusal(request, number, [message])
        target = reverse("ticket-detail", kwargs={"number": number}) + "#ticket-attach"
        if request.headers.get("HX-Request") == "true":
            return HttpResponse(headers={"HX-Redirect": target})
        return HttpResponseRedirect(target, status=303)
    back = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("home")
    return render(request, "request_too_large.html", {"message": message, "back": back}, status=413)


class InputBoundaryMiddleware:
    """No control characters in the path, the query string or a form's fields (urlencoded or
    multipart POST): a clear 400 before any view, form or database sees them (pim/inputs.py).
    Bodies the API parses itself (JSON, a PATCH form) are checked by pim.parsers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = self.problem(request)
        if problem is not None:
            return input_refused(request, problem)
        return self.get_response(request)

    @staticmethod
    def problem(request):
        if inputs.has_control_characters(request.path_info, path=True):
            return inputs.control_character_message(_("The address"))
        found = _in_querydict(request.GET, _("The parameter “%(name)s”"))
        if found:
            return found
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            found = _in_querydict(request.POST, _("The field “%(name)s”"))
            if found:
                return found
            for name, upload in request.FILES.items():
                if inputs.has_control_characters(name) or inputs.has_control_characters(
                    upload.name or ""
                ):
                    return inputs.control_character_message(_("The name of an uploaded file"))
        # The admin looks up the field an empty `_to_field` names (FieldDoesNotExist: a 500).
        if request.GET.get("_to_field") == "" or (
            request.method == "POST" and request.POST.get("_to_field") == ""
        ):
            return _("The parameter “%(name)s” may not be empty.") % {"name": "_to_field"}
        return None


def _in_querydict(data, label):
    for name, values in data.lists():
        if inputs.has_control_characters(name):
            return inputs.control_character_message(_("A field name"))
        if any(inputs.has_control_characters(value) for value in values):
            return inputs.control_character_message(label % {"name": name})
    return None
