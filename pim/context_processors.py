from django.conf import settings


def portal(request):
    user = getattr(request, "user", None)
    return {
        "DEMO_MODE": settings.DEMO_MODE,
        "SERVICE_DESK_PHONE": settings.SERVICE_DESK_PHONE,
        "is_staff_user": bool(user and user.is_authenticated and user.is_provider_staff),
        "is_worker": bool(user and user.is_authenticated and user.is_worker),
    }
