from django.conf import settings

from .models import Role


def portal(request):
    user = getattr(request, "user", None)
    authenticated = bool(user and user.is_authenticated)
    role = user.role if authenticated else None
    return {
        "DEMO_MODE": settings.DEMO_MODE,
        "SERVICE_DESK_PHONE": settings.SERVICE_DESK_PHONE,
        "is_staff_user": bool(authenticated and user.is_provider_staff),
        "is_worker": bool(authenticated and user.is_worker),
        "is_customer_user": bool(authenticated and user.is_customer),
        "user_role_label": Role(role).label if role else "",
    }
