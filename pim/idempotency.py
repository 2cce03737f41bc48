"""`Idempotency-Key` on POST: a retried request gets the first response and creates nothing twice.

The key is claimed in its own row (unique per user) before the view runs; a concurrent duplicate
gets 409, a reuse with a different request 422, a completed one its stored response again (with
`Idempotent-Replayed: true`). Server errors release the key so the client may retry.
"""

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http.request import RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from .inputs import has_control_characters
from .models import IdempotencyKey

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)


class _Replay(Exception):
    def __init__(self, record):
        self.record = record


class KeyConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_in_progress"


class KeyMismatch(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


def _fingerprint(request):
    try:
        body = request._request.body
    except RawPostDataException:  # a multipart stream already read: hash what was parsed
        body = repr(sorted((k, str(v)) for k, v in request.data.items())).encode()
    return hashlib.sha256(
        b"\n".join([request.method.encode(), request.get_full_path().encode(), body])
    ).hexdigest()


class IdempotencyMixin:
    _idempotency_record = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        key = request.headers.get(HEADER)
        if request.method != "POST" or not key or not request.user.is_authenticated:
            return
        if len(key) > 255:
            raise exceptions.ValidationError({HEADER: [_("At most 255 characters.")]})
        if has_control_characters(key, path=True):
            raise exceptions.ValidationError({HEADER: [_("No control characters.")]})
        fingerprint = _fingerprint(request)
        IdempotencyKey.objects.filter(created_at__lt=timezone.now() - KEEP_FOR).delete()
        try:
            with transaction.atomic():
                self._idempotency_record = IdempotencyKey.objects.create(
                    user=request.user, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            record = IdempotencyKey.objects.get(user=request.user, key=key)
            if record.fingerprint != fingerprint:
                raise KeyMismatch(
                    _("This Idempotency-Key was used for a different request.")
                ) from None
            if record.status_code is None:
                raise KeyConflict(
                    _("A request with this Idempotency-Key is still being processed.")
                ) from None
            raise _Replay(record) from None

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return Response(
                json.loads(exc.record.response) if exc.record.response else None,
                status=exc.record.status_code,
                headers={"Idempotent-Replayed": "true"},
            )
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record, self._idempotency_record = self._idempotency_record, None
        if record is not None:
            if response.status_code >= 500:
                record.delete()  # nothing happened that a retry could duplicate
            else:
                record.status_code = response.status_code
                # DRF's encoder, as the renderer uses: a replay is the same JSON, to the
                # microsecond (DjangoJSONEncoder cuts datetimes to milliseconds).
                record.response = json.dumps(getattr(response, "data", None), cls=JSONEncoder)
                record.save(update_fields=["status_code", "response"])
        return response
