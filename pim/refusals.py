"""How the input boundary (pim/inputs.py) refuses a request: JSON under /api/ (the API's error
contract), the portal's layout with the message elsewhere. Used by the middleware, the error
handlers and the views that read a raw value themselves."""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def input_refused(request, message, status=400):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(message)}, status=status)
    return render(request, "input_refused.html", {"message": message}, status=status)


def too_large_message(limit):
    megabytes = limit / (1024 * 1024)
    return _("The request is too large (limit %(limit)s MB).") % {
        "limit": f"{megabytes:g}" if megabytes >= 1 else f"{megabytes:.2g}"
    }
