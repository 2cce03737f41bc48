"""The one place that decides which tenant data a user may see (DESIGN §3).

Every view, viewset, export, feed and e-mail link gets its querysets through `visible_to()` on
the model's queryset (which calls `organization_filter()` here). Under it, django-scopes is the
safety net: tenant-owned ticket models use a ScopedManager, and a query on them outside an active
scope raises instead of returning another organisation's rows. The middleware (and the API base
view, after token authentication) activates the scope of the requesting user.
"""

from contextlib import contextmanager

from django.db.models import Q
from django_scopes import scope, scopes_disabled

from .models import STAFF_ROLES, Organization


def organization_id_for(user):
    """None for provider staff (all organisations); the organisation id for customers."""
    if not user.is_authenticated:
        raise PermissionError("anonymous users have no tenant scope")
    if user.role in STAFF_ROLES:
        return None
    org_id = user.organization_id_or_none
    if org_id is None:
        # A user without a membership sees nothing: scope to an impossible organisation.
        return -1
    return org_id


def organization_filter(user, field="organization"):
    """A Q object restricting `field` to what `user` may see."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    org_id = organization_id_for(user)
    if org_id is None:
        return Q()
    return Q(**{f"{field}_id": org_id})


def own_tickets_filter(user, watched_ticket_ids, reporter="reporter", pk="pk"):
    """A customer user's own tickets (SPEC §1): those they reported, and those they watch (a
    colleague added them as watcher, issue 12). `watched_ticket_ids` is a subquery of ticket ids
    the user watches; callers AND this with `organization_filter`, so a watch never crosses
    organisations."""
    return Q(**{reporter: user}) | Q(**{f"{pk}__in": watched_ticket_ids})


@contextmanager
def user_scope(user):
    """Activate the django-scopes scope that belongs to `user`."""
    if user is None or not user.is_authenticated:
        yield
        return
    with scope(organization=organization_id_for(user)):
        yield


def visible_organizations(user):
    if not user.is_authenticated:
        return Organization.objects.none()
    org_id = organization_id_for(user)
    qs = Organization.objects.all()
    return qs if org_id is None else qs.filter(pk=org_id)


__all__ = [
    "organization_filter",
    "organization_id_for",
    "own_tickets_filter",
    "scopes_disabled",
    "user_scope",
    "visible_organizations",
]
