"""Maintenance writes (admin, pages and API all call these); the rules of SPEC §8 they check
live in maintenance.rules."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pim.exceptions import IllegalStateChange

from .models import (
    TRANSITIONS,
    Event,
    FeedToken,
    Impact,
    Initiator,
    MaintenanceNotice,
    MaintenanceUpdate,
    Status,
    Subscription,
    hash_token,
)
from .notifications import announce, publish
from .rules import check_scope, validate_notice

# Fields a change of which re-announces the notice to its subscribers.
SIGNIFICANT = ("kind", "starts_at", "ends_at", "impact", "emergency_scenario")


def _lock_rules():
    """Serialise rule checks with the write that follows them (the 12-per-year count). SQLite
    runs IMMEDIATE transactions (one writer at a time); PostgreSQL takes an advisory lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x4D41494E])  # "MAIN"


# --- scope checks ----------------------------------------------------------------------------


def _require_staff(actor):
    if actor is None or not actor.is_authenticated or not actor.is_provider_staff:
        raise PermissionDenied(_("Only provider staff can announce or change maintenance."))


# --- writes ----------------------------------------------------------------------------------


def create_notice(
    actor,
    *,
    kind,
    title,
    starts_at,
    ends_at,
    description="",
    organizations=(),
    all_organizations=False,
    services=(),
    impact=Impact.NONE,
    emergency_scenario="",
    initiator=Initiator.PROVIDER,
    initiated_by=None,
    now=None,
):
    """Announce maintenance: validate the rules, record it, e-mail the subscribers (once)."""
    _require_staff(actor)
    now = now or timezone.now()
    organizations, services = list(organizations), list(services)
    check_scope(all_organizations, organizations, services, emergency_scenario, impact)
    with transaction.atomic():
        _lock_rules()
        validate_notice(kind, starts_at, ends_at, now=now)
        notice = MaintenanceNotice.objects.create(
            kind=kind,
            title=title,
            description=description,
            all_organizations=all_organizations,
            starts_at=starts_at,
            ends_at=ends_at,
            impact=impact,
            emergency_scenario=emergency_scenario,
            initiator=initiator,
            initiated_by=initiated_by or actor,
            announced_at=now,
        )
        notice.organizations.set([] if all_organizations else organizations)
        notice.services.set(services)
        MaintenanceUpdate.objects.create(
            notice=notice, event=Event.ANNOUNCED, status=notice.status, author=actor, at=now
        )
        announce(notice, now=now)
    return notice


def update_notice(notice, actor, *, message="", now=None, **changes):
    """Change an open notice. The rules are checked again; a new window (or kind) counts as a new
    announcement (7 days from now). SEQUENCE goes up; a significant change is e-mailed."""
    _require_staff(actor)
    now = now or timezone.now()
    with transaction.atomic():
        _lock_rules()
        notice = MaintenanceNotice.objects.select_for_update().get(pk=notice.pk)
        if not notice.is_open:
            raise ValidationError(
                _("A %(status)s notice cannot be changed.")
                % {"status": notice.get_status_display()}
            )
        organizations = changes.pop("organizations", None)
        services = changes.pop("services", None)
        allowed = {
            "kind", "title", "description", "all_organizations", "starts_at", "ends_at",
            "impact", "emergency_scenario", "initiator", "initiated_by",
        }  # fmt: skip
        unknown = set(changes) - allowed
        if unknown:
            raise TypeError(f"update_notice() got unexpected fields {sorted(unknown)}")
        before = {f: getattr(notice, f) for f in SIGNIFICANT}
        old_orgs = set(notice.organizations.values_list("pk", flat=True))
        old_services = set(notice.services.values_list("pk", flat=True))
        old_all = notice.all_organizations
        for field, value in changes.items():
            setattr(notice, field, value)
        orgs = (
            list(organizations) if organizations is not None else list(notice.organizations.all())
        )
        svcs = list(services) if services is not None else list(notice.services.all())
        check_scope(notice.all_organizations, orgs, svcs, notice.emergency_scenario, notice.impact)
        rescheduled = any(getattr(notice, f) != before[f] for f in ("kind", "starts_at", "ends_at"))
        validate_notice(
            notice.kind,
            notice.starts_at,
            notice.ends_at,
            now=now,
            announced_at=None if rescheduled else notice.announced_at,
            exclude_pk=notice.pk,
        )
        if rescheduled:
            notice.announced_at = now
        notice.sequence += 1
        notice.save()
        if organizations is not None or notice.all_organizations:
            notice.organizations.set([] if notice.all_organizations else orgs)
        if services is not None:
            notice.services.set(svcs)
        scope_changed = (
            old_all != notice.all_organizations
            or old_orgs != set(notice.organizations.values_list("pk", flat=True))
            or old_services != set(notice.services.values_list("pk", flat=True))
        )
        significant = (
            scope_changed or any(getattr(notice, f) != before[f] for f in SIGNIFICANT) or message
        )
        if significant:
            update = MaintenanceUpdate.objects.create(
                notice=notice,
                event=Event.CHANGED,
                status=notice.status,
                message=message,
                author=actor,
                at=now,
            )
            publish(notice, update, now=now)
    return notice


class IllegalStatusChange(IllegalStateChange):
    """The maintenance status machine has no such move (the API answers 409)."""


def post_status_update(notice, actor, status, message="", *, now=None):
    """A timeline entry: scheduled → in progress → completed, any open status → cancelled, or a
    progress message under the current status. Subscribers get it by e-mail once."""
    _require_staff(actor)
    now = now or timezone.now()
    message = (message or "").strip()
    with transaction.atomic():
        notice = MaintenanceNotice.objects.select_for_update().get(pk=notice.pk)
        current = Status(notice.status)
        status = Status(status)
        if status == current:
            if not notice.is_open:
                raise IllegalStatusChange(
                    _("This maintenance is %(status)s; it takes no more updates.")
                    % {"status": current.label.lower()}
                )
            if not message:
                raise ValidationError({"message": [_("Write the update for the customers.")]})
            event = Event.MESSAGE
        elif status in TRANSITIONS[current]:
            event = Event.STATUS
            notice.status = status
        else:
            raise IllegalStatusChange(
                _("Maintenance cannot go from %(old)s to %(new)s.")
                % {"old": current.label.lower(), "new": status.label.lower()}
            )
        notice.sequence += 1
        notice.save(update_fields=["status", "sequence", "updated_at"])
        update = MaintenanceUpdate.objects.create(
            notice=notice, event=event, status=notice.status, message=message, author=actor, at=now
        )
        publish(notice, update, now=now)
    return notice, update


def subscribe(user, organization, service=None):
    """Subscribe `user` to the notices of `organization` (one service, or all). Customers only to
    their own organisation. Returns (subscription, created); subscribing twice is a no-op."""
    if not user.is_authenticated:
        raise PermissionDenied
    if not user.is_provider_staff and user.organization_id_or_none != organization.pk:
        raise PermissionDenied(_("You can only subscribe to your own organisation."))
    if service is not None and service.organization_id != organization.pk:
        raise ValidationError({"service": [_("Choose a service of this organisation.")]})
    try:
        with transaction.atomic():
            return Subscription.objects.get_or_create(
                user=user, organization=organization, service=service
            )
    except IntegrityError:  # a concurrent request made it first
        return Subscription.objects.get(
            user=user, organization=organization, service=service
        ), False


def unsubscribe(user, subscription):
    if subscription.user_id != user.pk:
        raise PermissionDenied
    subscription.delete()


# --- the calendar feed token -----------------------------------------------------------------


def regenerate_feed_token(user):
    """A new secret for the user's feed (the old URL stops working). Returns the secret: it is
    shown once, only its hash is kept."""
    secret = FeedToken.new_secret()
    FeedToken.objects.update_or_create(user=user, defaults={"token_hash": hash_token(secret)})
    return secret


def revoke_feed_token(user):
    return FeedToken.objects.filter(user=user).delete()[0] > 0


def user_for_feed_token(secret, now=None):
    if not secret or len(secret) > 200:
        return None
    token = (
        FeedToken.objects.select_related("user", "user__membership")
        .filter(token_hash=hash_token(secret), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        FeedToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
