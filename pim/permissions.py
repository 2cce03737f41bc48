"""Who may do what, in one place: role predicates, guards for services, a decorator for pages
and DRF permission classes (after paperless-ngx's `documents/permissions.py`).

Tenant *visibility* is not decided here but in `pim/scoping.py` (`visible_to`); these checks
answer the other question: given that a user may see something, may they act on it? Objects a
user may not see answer 404 in views; actions a user may not take raise `PermissionDenied`.
Each app keeps one lookup helper per object kind for its views (`tickets.queries.get_ticket_for`,
`maintenance.queries.get_notice_for`, `escalation.webhooks.endpoints.get_endpoint_for`,
`intake.views.get_message_for`), after healthchecks' `_get_rw_check_for_user`.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import permissions

from .models import CUSTOMER_ROLES, MANAGER_ROLES, STAFF_ROLES, WORKER_ROLES, Role

# --- predicates -----------------------------------------------------------------------------


def _role(user) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    return user.role


def is_provider_staff(user) -> bool:
    """Provider staff: workers and managers (they see every organisation)."""
    return _role(user) in STAFF_ROLES


def is_worker(user) -> bool:
    """Agents, on-call engineers and admins: they work tickets."""
    return _role(user) in WORKER_ROLES


def is_manager(user) -> bool:
    return _role(user) in MANAGER_ROLES


def is_admin(user) -> bool:
    return _role(user) == Role.ADMIN


def is_customer(user) -> bool:
    return _role(user) in CUSTOMER_ROLES


def is_customer_user(user) -> bool:
    """A customer user sees only the tickets they reported (SPEC §1)."""
    return _role(user) == Role.CUSTOMER_USER


def is_authorised_contact(user) -> bool:
    return _role(user) == Role.AUTHORISED_CONTACT


def may_manage_webhooks(user) -> bool:
    """Authorised contacts (their own organisation) and provider admins."""
    return is_authorised_contact(user) or is_admin(user)


def may_escalate(user) -> bool:
    """Authorised contacts escalate their organisation's tickets (SPEC §5)."""
    return is_authorised_contact(user)


def may_file_tickets(user) -> bool:
    return is_customer(user) or is_worker(user)


# --- guards for services --------------------------------------------------------------------


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def require_worker(user) -> None:
    require(is_worker(user), _("Only service desk staff may do this."))


def require_staff(user, message: str | None = None) -> None:
    require(is_provider_staff(user), message or _("Only provider staff may do this."))


# --- pages ----------------------------------------------------------------------------------


def staff_required(view: Callable) -> Callable:
    """Provider staff only; everybody else gets a 404 (the page does not exist for them)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_provider_staff(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def staff_or_404(user) -> None:
    """For pages that exist only for provider staff."""
    if not is_provider_staff(user):
        raise Http404


# --- API ------------------------------------------------------------------------------------


class IsProviderStaff(permissions.BasePermission):
    def has_permission(self, request, view):
        return is_provider_staff(request.user)


class IsStaffForWrites(permissions.BasePermission):
    """Anybody in scope reads; only provider staff write (customers: 403, not 404)."""

    message = "Only provider staff may change this."

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or is_provider_staff(request.user)


class MayManageWebhooks(permissions.BasePermission):
    def has_permission(self, request, view):
        return may_manage_webhooks(request.user)
