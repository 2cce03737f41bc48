"""Maintenance writes (admin, pages and API all call these): announce, change, post to the
timeline, subscribe, and the calendar feed's token. The rules of SPEC §8 they check live in
maintenance.rules; who is told, and how, in maintenance.notifications."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pim.exceptions import IllegalStateChange
from pim.models import Organization, Service, User
from pim.permissions import require_staff

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

STAFF_ONLY = gettext_lazy("Only provider staff can announce or change maintenance.")

# Fields a change of which re-announces the notice to its subscribers.
SIGNIFICANT = ("kind", "starts_at", "ends_at", "impact", "emergency_scenario")
# Fields a change of which moves the window: a new announcement, 7 days from now.
RESCHEDULING = ("kind", "starts_at", "ends_at")
# What update_notice() may change besides the organisations and services.
UPDATABLE = frozenset(
    {
        "kind", "title", "description", "all_organizations", "starts_at", "ends_at",
        "impact", "emergency_scenario", "initiator", "initiated_by",
    }
)  # fmt: skip


class IllegalStatusChange(IllegalStateChange):
    """The maintenance status machine has no such move (the API answers 409)."""


def _serialise_rule_checks() -> None:
    """Serialise rule checks with the write that follows them (the 12-per-year count). SQLite
    runs IMMEDIATE transactions (one writer at a time); PostgreSQL takes an advisory lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x4D41494E])  # "MAIN"


def _add_to_timeline(
    notice: MaintenanceNotice, actor: User, event: str, now: datetime, message: str = ""
) -> MaintenanceUpdate:
    return MaintenanceUpdate.objects.create(
        notice=notice, event=event, status=notice.status, message=message, author=actor, at=now
    )


# --- announcing -----------------------------------------------------------------------------


def create_notice(
    actor: User,
    *,
    kind: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    description: str = "",
    organizations: Iterable[Organization] = (),
    all_organizations: bool = False,
    services: Iterable[Service] = (),
    impact: str = Impact.NONE,
    emergency_scenario: str = "",
    initiator: str = Initiator.PROVIDER,
    initiated_by: User | None = None,
    now: datetime | None = None,
) -> MaintenanceNotice:
    """Announce maintenance: validate the rules, record it, e-mail the subscribers (once)."""
    require_staff(actor, STAFF_ONLY)
    now = now or timezone.now()
    organizations, services = list(organizations), list(services)
    check_scope(all_organizations, organizations, services, emergency_scenario, impact)
    with transaction.atomic():
        _serialise_rule_checks()
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
        _add_to_timeline(notice, actor, Event.ANNOUNCED, now)
        announce(notice, now=now)
    return notice


# --- changing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Before:
    """A notice as it was before a change: what the change is compared with."""

    fields: dict
    all_organizations: bool
    organization_ids: set[int]
    service_ids: set[int]

    @classmethod
    def of(cls, notice: MaintenanceNotice) -> "_Before":
        return cls(
            fields={f: getattr(notice, f) for f in SIGNIFICANT},
            all_organizations=notice.all_organizations,
            organization_ids=set(notice.organizations.values_list("pk", flat=True)),
            service_ids=set(notice.services.values_list("pk", flat=True)),
        )

    def rescheduled(self, notice: MaintenanceNotice) -> bool:
        return any(getattr(notice, f) != self.fields[f] for f in RESCHEDULING)

    def significantly_changed(self, notice: MaintenanceNotice) -> bool:
        """A new window, kind, impact, scenario or scope: the subscribers are told again."""
        return (
            self.all_organizations != notice.all_organizations
            or self.organization_ids != set(notice.organizations.values_list("pk", flat=True))
            or self.service_ids != set(notice.services.values_list("pk", flat=True))
            or any(getattr(notice, f) != self.fields[f] for f in SIGNIFICANT)
        )


def _locked_open_notice(pk: int) -> MaintenanceNotice:
    notice = MaintenanceNotice.objects.select_for_update().get(pk=pk)
    if not notice.is_open:
        raise ValidationError(
            _("A %(status)s notice cannot be changed.") % {"status": notice.get_status_display()}
        )
    return notice


def _refuse_unknown_fields(changes: dict) -> None:
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise TypeError(f"update_notice() got unexpected fields {sorted(unknown)}")


def _save_change(
    notice: MaintenanceNotice,
    now: datetime,
    *,
    rescheduled: bool,
    organizations: list[Organization] | None,
    services: list[Service] | None,
) -> None:
    """Store a checked change: a new window is a new announcement; SEQUENCE goes up. The
    organisations and services are replaced only when given (all organisations: none listed)."""
    if rescheduled:
        notice.announced_at = now
    notice.sequence += 1
    notice.save()
    if organizations is not None or notice.all_organizations:
        notice.organizations.set([] if notice.all_organizations else organizations)
    if services is not None:
        notice.services.set(services)


def update_notice(
    notice: MaintenanceNotice,
    actor: User,
    *,
    message: str = "",
    now: datetime | None = None,
    **changes,
) -> MaintenanceNotice:
    """Change an open notice. The rules are checked again; a new window (or kind) counts as a new
    announcement (7 days from now). SEQUENCE goes up; a significant change is e-mailed."""
    require_staff(actor, STAFF_ONLY)
    now = now or timezone.now()
    with transaction.atomic():
        _serialise_rule_checks()
        notice = _locked_open_notice(notice.pk)
        organizations = changes.pop("organizations", None)
        services = changes.pop("services", None)
        _refuse_unknown_fields(changes)
        organizations = None if organizations is None else list(organizations)
        services = None if services is None else list(services)
        before = _Before.of(notice)
        for field, value in changes.items():
            setattr(notice, field, value)
        check_scope(
            notice.all_organizations,
            organizations if organizations is not None else list(notice.organizations.all()),
            services if services is not None else list(notice.services.all()),
            notice.emergency_scenario,
            notice.impact,
        )
        rescheduled = before.rescheduled(notice)
        validate_notice(
            notice.kind,
            notice.starts_at,
            notice.ends_at,
            now=now,
            announced_at=None if rescheduled else notice.announced_at,
            exclude_pk=notice.pk,
        )
        _save_change(
            notice, now, rescheduled=rescheduled, organizations=organizations, services=services
        )
        if message or before.significantly_changed(notice):
            update = _add_to_timeline(notice, actor, Event.CHANGED, now, message)
            publish(notice, update, now=now)
    return notice


# --- the timeline ---------------------------------------------------------------------------


def _timeline_event(notice: MaintenanceNotice, status: Status, message: str) -> str:
    """The kind of entry `status` makes on the notice's timeline: a progress message under the
    current status, or a move of the status machine; anything else is refused."""
    current = Status(notice.status)
    if status == current:
        if not notice.is_open:
            raise IllegalStatusChange(
                _("This maintenance is %(status)s; it takes no more updates.")
                % {"status": current.label.lower()}
            )
        if not message:
            raise ValidationError({"message": [_("Write the update for the customers.")]})
        return Event.MESSAGE
    if status in TRANSITIONS[current]:
        return Event.STATUS
    raise IllegalStatusChange(
        _("Maintenance cannot go from %(old)s to %(new)s.")
        % {"old": current.label.lower(), "new": status.label.lower()}
    )


def post_status_update(
    notice: MaintenanceNotice,
    actor: User,
    status: str,
    message: str = "",
    *,
    now: datetime | None = None,
) -> tuple[MaintenanceNotice, MaintenanceUpdate]:
    """A timeline entry: scheduled → in progress → completed, any open status → cancelled, or a
    progress message under the current status. Subscribers get it by e-mail once."""
    require_staff(actor, STAFF_ONLY)
    now = now or timezone.now()
    message = (message or "").strip()
    with transaction.atomic():
        notice = MaintenanceNotice.objects.select_for_update().get(pk=notice.pk)
        status = Status(status)
        event = _timeline_event(notice, status, message)
        if event == Event.STATUS:
            notice.status = status
            if status == Status.IN_PROGRESS:
                notice.started_at = now
            elif status == Status.COMPLETED:
                notice.completed_at = now
        notice.sequence += 1
        notice.save(
            update_fields=["status", "sequence", "started_at", "completed_at", "updated_at"]
        )
        update = _add_to_timeline(notice, actor, event, now, message)
        publish(notice, update, now=now)
    return notice, update


# --- subscriptions --------------------------------------------------------------------------


def subscribe(
    user: User, organization: Organization, service: Service | None = None
) -> tuple[Subscription, bool]:
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


def unsubscribe(user: User, subscription: Subscription) -> None:
    if subscription.user_id != user.pk:
        raise PermissionDenied
    subscription.delete()


# --- the calendar feed token ----------------------------------------------------------------


def regenerate_feed_token(user: User) -> str:
    """A new secret for the user's feed (the old URL stops working). Returns the secret: it is
    shown once, only its hash is kept."""
    secret = FeedToken.new_secret()
    FeedToken.objects.update_or_create(user=user, defaults={"token_hash": hash_token(secret)})
    return secret


def revoke_feed_token(user: User) -> bool:
    return FeedToken.objects.filter(user=user).delete()[0] > 0


def user_for_feed_token(secret: str, now: datetime | None = None) -> User | None:
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
