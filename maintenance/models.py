"""Maintenance notices (SPEC §8), their timeline, subscriptions and calendar feed tokens."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from pim.models import Organization, Service
from pim.scoping import organization_id_for


class Kind(models.TextChoices):
    PREVENTIVE = "preventive", _("Preventive")
    ADAPTIVE = "adaptive", _("Adaptive")
    EMERGENCY = "emergency", _("Emergency (corrective)")


class Impact(models.TextChoices):
    NONE = "none", _("No impact expected")
    DEGRADED = "degraded", _("Degraded service")
    OUTAGE = "outage", _("Outage")


class Initiator(models.TextChoices):
    PROVIDER = "provider", _("Provider")
    CUSTOMER = "customer", _("Customer")


class Status(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


# scheduled → in progress → completed; any open status → cancelled
TRANSITIONS = {
    Status.SCHEDULED: {Status.IN_PROGRESS, Status.CANCELLED},
    Status.IN_PROGRESS: {Status.COMPLETED, Status.CANCELLED},
    Status.COMPLETED: set(),
    Status.CANCELLED: set(),
}


class NoticeQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The tenant choke point for notices: staff see all; a customer sees the notices of
        all organisations and those naming their own organisation; anonymous users nothing."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        org_id = organization_id_for(user)
        if org_id is None:
            return self
        return self.for_organization(org_id)

    def for_organization(self, org_id):
        names_org = MaintenanceNotice.organizations.through.objects.filter(
            maintenancenotice_id=OuterRef("pk"), organization_id=org_id
        )
        return self.filter(Q(all_organizations=True) | Q(Exists(names_org)))


class MaintenanceNotice(models.Model):
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    all_organizations = models.BooleanField(
        _("all organisations"),
        default=False,
        help_text=_("Affects every organisation; otherwise only the ones chosen."),
    )
    organizations = models.ManyToManyField(
        Organization,
        blank=True,
        related_name="maintenance_notices",
        verbose_name=_("organisations"),
    )
    services = models.ManyToManyField(
        Service,
        blank=True,
        related_name="maintenance_notices",
        verbose_name=_("services"),
        help_text=_("Empty: all services of the affected organisations."),
    )
    starts_at = models.DateTimeField(_("window start"))
    ends_at = models.DateTimeField(_("window end"))
    impact = models.CharField(
        _("expected impact"), max_length=10, choices=Impact.choices, default=Impact.NONE
    )
    emergency_scenario = models.TextField(
        _("proposed emergency scenario"),
        blank=True,
        help_text=_("What customers can do if the service is affected (when impact is expected)."),
    )
    initiator = models.CharField(
        _("initiated by"), max_length=10, choices=Initiator.choices, default=Initiator.PROVIDER
    )
    initiated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("initiating user"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.SCHEDULED
    )
    sequence = models.PositiveIntegerField(
        _("revision"), default=0, help_text=_("iCalendar SEQUENCE: raised on every change.")
    )
    announced_at = models.DateTimeField(_("announced at"))
    # The actual window, where recorded: the moments the notice went in progress and was
    # completed (post_status_update). Availability (SPEC §9) counts these over the planned ones.
    started_at = models.DateTimeField(_("actually started"), null=True, blank=True)
    completed_at = models.DateTimeField(_("actually completed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "pk"]
        verbose_name = _("maintenance notice")
        verbose_name_plural = _("maintenance notices")
        indexes = [models.Index(fields=["starts_at"]), models.Index(fields=["kind", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                name="maintenance_window_ends_after_start",
                condition=Q(ends_at__gt=models.F("starts_at")),
            )
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("maintenance-detail", args=[self.pk])

    @property
    def is_open(self):
        return self.status in (Status.SCHEDULED, Status.IN_PROGRESS)

    @property
    def actual_window(self):
        """(start, end) as it happened where recorded, else as planned; None if the recorded
        moments leave no window (completed before the planned start, say)."""
        start = self.started_at or self.starts_at
        end = self.completed_at or self.ends_at
        return (start, end) if end > start else None

    @property
    def duration(self):
        return self.ends_at - self.starts_at

    def allowed_transitions(self):
        return sorted(TRANSITIONS[Status(self.status)])


class Event(models.TextChoices):
    ANNOUNCED = "announced", _("Announced")
    STATUS = "status", _("Status changed")
    CHANGED = "changed", _("Notice changed")
    MESSAGE = "message", _("Update")


class MaintenanceUpdate(models.Model):
    """One entry of a notice's timeline: the announcement, a status change, a change of the
    window (or impact, scope), or a progress message."""

    notice = models.ForeignKey(MaintenanceNotice, on_delete=models.CASCADE, related_name="updates")
    event = models.CharField(_("event"), max_length=10, choices=Event.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    message = models.TextField(_("message"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("maintenance update")
        verbose_name_plural = _("maintenance updates")

    def __str__(self):
        return f"{self.notice_id} {self.status} {self.at:%Y-%m-%d %H:%M}"


class Subscription(models.Model):
    """A user wants maintenance notices of an organisation (one service, or all of them)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="maintenance_subscriptions",
        verbose_name=_("user"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="maintenance_subscriptions",
        verbose_name=_("organisation"),
    )
    service = models.ForeignKey(
        Service,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="maintenance_subscriptions",
        verbose_name=_("service"),
        help_text=_("Empty: all services."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["organization__name", "service__name", "pk"]
        verbose_name = _("maintenance subscription")
        verbose_name_plural = _("maintenance subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization", "service"],
                condition=Q(service__isnull=False),
                name="one_maintenance_subscription_per_service",
            ),
            models.UniqueConstraint(
                fields=["user", "organization"],
                condition=Q(service__isnull=True),
                name="one_maintenance_subscription_per_organization",
            ),
        ]

    def __str__(self):
        return f"{self.user} → {self.organization} / {self.service or '*'}"


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


class FeedToken(models.Model):
    """The secret of a user's iCalendar feed URL. Only its SHA-256 is stored: the URL is shown
    once, when it is made; regenerating replaces it, revoking deletes it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="maintenance_feed_token"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed token")
        verbose_name_plural = _("calendar feed tokens")

    def __str__(self):
        return f"feed token of {self.user}"

    @staticmethod
    def new_secret():
        return secrets.token_urlsafe(32)
