from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import connection
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.defaults import page_not_found as html_404

from .auth import create_token, revoke_token
from .celery import app as celery_app
from .filters import parse_id
from .models import ApiToken
from .refusals import input_refused, too_large_message
from .tasks import HEARTBEAT_KEY


@login_required
def home(request):
    if request.user.is_provider_staff:
        return redirect("queue")
    return redirect("ticket-list")


@require_POST
def set_language(request):
    """Switch the UI language; stored on the user so e-mails follow it too."""
    lang = request.POST.get("language", "")
    if lang not in dict(settings.LANGUAGES):
        lang = settings.LANGUAGE_CODE
    nxt = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(nxt, {request.get_host()}, request.is_secure()):
        nxt = "/"
    response = HttpResponseRedirect(nxt)
    if request.user.is_authenticated:
        request.user.language = lang
        request.user.save(update_fields=["language"])
    translation.activate(lang)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, lang, samesite="Lax")
    return response


def _broker_status():
    url = settings.CELERY_BROKER_URL
    if url.startswith(("filesystem://", "memory://")):
        return {"ok": True, "transport": url.split(":", 1)[0]}
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "transport": conn.transport_cls}
    except Exception as exc:  # noqa: BLE001 - health checks report, never raise
        return {"ok": False, "error": exc.__class__.__name__}


@never_cache
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        database = {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # noqa: BLE001
        database = {"ok": False, "error": exc.__class__.__name__}
    broker = _broker_status()
    beat_at = cache.get(HEARTBEAT_KEY)
    beat = {"last_heartbeat": beat_at}
    if beat_at:
        age = (timezone.now() - timezone.datetime.fromisoformat(beat_at)).total_seconds()
        beat["age_seconds"] = round(age)
    ok = database["ok"] and broker["ok"]
    body = {"status": "ok" if ok else "error", "database": database, "broker": broker, "beat": beat}
    return JsonResponse(body, status=200 if ok else 503, json_dumps_params={"indent": None})


NEW_TOKEN_SESSION_KEY = "pim.new_api_token"


@login_required
def tokens(request):
    """The user's personal API tokens: create (the key is shown once), revoke. A created token
    redirects (post/redirect/get, so a reload cannot make a second one); its key rides in the
    session to the next page view only, which shows it once and is never cached."""
    new_key, error = request.session.pop(NEW_TOKEN_SESSION_KEY, None), None
    if request.method == "POST":
        if "revoke" in request.POST:
            token_id = parse_id(request.POST.get("revoke"))
            if token_id is None:
                return input_refused(request, _("That is not a valid token."))
            token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
            revoke_token(token, request.user)
            messages.success(request, _("Token “%(name)s” was revoked.") % {"name": token.name})
            return redirect("account-tokens")
        try:
            token, key = create_token(request.user, request.POST.get("name", ""))
        except ValidationError as exc:
            error = exc.message_dict.get("name", exc.messages)[0]
        else:
            request.session[NEW_TOKEN_SESSION_KEY] = key
            messages.success(request, _("Token “%(name)s” was created.") % {"name": token.name})
            return redirect("account-tokens")
    response = render(
        request,
        "account/tokens.html",
        {
            "tokens": ApiToken.objects.filter(user=request.user),
            "new_key": new_key,
            "error": error,
        },
        status=400 if error else 200,
    )
    add_never_cache_headers(response)  # the page may show a key
    return response


def page_not_found(request, exception=None):
    """404: JSON under /api/ (the API's error contract), the portal's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return html_404(request, exception)


def bad_request(request, exception=None):
    """400 for what Django itself refuses (too many fields, a malformed multipart body, a body
    over DATA_UPLOAD_MAX_MEMORY_SIZE, which is a 413): JSON under /api/, the portal's page
    elsewhere."""
    if isinstance(exception, RequestDataTooBig):
        return input_refused(
            request, too_large_message(settings.DATA_UPLOAD_MAX_MEMORY_SIZE), status=413
        )
    return input_refused(request, _("The request could not be understood."))
