"""Escalation matrix and triggers (SPEC §5), escalations, reminders and the notification outbox."""

import base64
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from pim.inputs import parse_priorities
from pim.models import Role
from tickets.models import Ticket, TicketChildManager

from .webhooks.addresses import validate_url


class Level(models.TextChoices):
    LOW = "low", _("Low")
    MIDDLE = "middle", _("Middle")
    HIGH = "high", _("High")
    VERY_HIGH = "very_high", _("Very high")


LEVEL_ORDER = [Level.LOW, Level.MIDDLE, Level.HIGH, Level.VERY_HIGH]


def level_rank(level):
    return LEVEL_ORDER.index(level)


def parse_roles(value):
    return [r.strip() for r in (value or "").split(",") if r.strip()]


def validate_roles(value):
    unknown = sorted(set(parse_roles(value)) - set(Role.values))
    if unknown:
        raise ValidationError(
            _("Unknown role(s): %(roles)s. Choose from: %(known)s.")
            % {"roles": ", ".join(unknown), "known": ", ".join(Role.values)}
        )


ROLES_HELP = _("Comma-separated roles, e.g. “agent,oncall” or “ops_director,general_director”.")


class MatrixRow(models.Model):
    """One level of the escalation matrix (SPEC §5): who owns it, who deputises."""

    level = models.CharField(_("level"), max_length=12, choices=Level.choices, unique=True)
    owner_roles = models.CharField(
        _("owner"), max_length=200, validators=[validate_roles], help_text=ROLES_HELP
    )
    deputy1_roles = models.CharField(
        _("1st deputy"), max_length=200, validators=[validate_roles], help_text=ROLES_HELP
    )
    deputy2_roles = models.CharField(
        _("2nd deputy"), max_length=200, validators=[validate_roles], help_text=ROLES_HELP
    )
    deputy_after_minutes = models.PositiveIntegerField(
        _("deputy after (minutes)"),
        null=True,
        blank=True,
        help_text=_("Unacknowledged this long, the escalation goes to the next deputy. "
                    "Empty: the site default."),
    )  # fmt: skip

    class Meta:
        verbose_name = _("escalation matrix level")
        verbose_name_plural = _("escalation matrix")

    def __str__(self):
        return str(self.get_level_display())

    def roles_for_tier(self, tier):
        return parse_roles((self.owner_roles, self.deputy1_roles, self.deputy2_roles)[tier])


# The trigger code of escalations raised by an authorised contact (SPEC §5, by performance).
CUSTOMER_TRIGGER = "customer"


class TriggerEvent(models.TextChoices):
    REGISTERED = "registered", _("Ticket registered")
    AT_RISK = "at_risk", _("Target at risk")
    BREACHED = "breached", _("Target breached")
    CUSTOMER = "customer", _("Customer escalates")


class Trigger(models.Model):
    """When an escalation is raised, and at which level (SPEC §5 default triggers)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    event = models.CharField(_("event"), max_length=12, choices=TriggerEvent.choices)
    target = models.CharField(
        _("target"),
        max_length=16,
        blank=True,
        help_text=_("For at-risk and breached: response, restore, resolution or pickup."),
    )
    priorities = models.CharField(
        _("priorities"),
        max_length=20,
        blank=True,
        help_text=_("Comma-separated priorities this trigger applies to; empty: all."),
    )
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("escalation trigger")
        verbose_name_plural = _("escalation triggers")

    def __str__(self):
        return self.code

    def clean(self):
        try:
            parse_priorities(self.priorities)
        except ValidationError as exc:
            raise ValidationError({"priorities": exc.messages}) from None

    def applies_to(self, ticket):
        wanted = {int(p) for p in self.priorities.split(",") if p.strip()}
        return self.active and (not wanted or ticket.priority in wanted)


class Escalation(models.Model):
    """A raised escalation: notified to the level's owner, then deputies until acknowledged."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="escalations", verbose_name=_("ticket")
    )
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    trigger = models.CharField(_("trigger"), max_length=40)
    reason = models.TextField(_("reason"), blank=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("raised by"),
    )
    raised_at = models.DateTimeField(_("raised at"))
    tier = models.PositiveSmallIntegerField(
        _("recipient tier"), default=0, help_text=_("0: owner, 1: 1st deputy, 2: 2nd deputy.")
    )
    next_deputy_at = models.DateTimeField(_("next deputy at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    # Set when the ticket is resolved or closed: nothing is left to save, no deputy is called.
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = TicketChildManager()

    class Meta:
        ordering = ["-raised_at", "-pk"]
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        constraints = [
            # The clock and registration triggers fire once per ticket; customers may escalate
            # again (each with its own reason).
            models.UniqueConstraint(
                fields=["ticket", "trigger"],
                condition=~models.Q(trigger="customer"),
                name="one_escalation_per_trigger",
            ),
            # A ticket has at most one open escalation per level (SPEC §5).
            models.UniqueConstraint(
                fields=["ticket", "level"],
                condition=models.Q(closed_at__isnull=True),
                name="one_open_escalation_per_level",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_deputy_at"],
                name="escalation_next_deputy",
                condition=models.Q(next_deputy_at__isnull=False),
            )
        ]

    def __str__(self):
        return f"{self.ticket} · {self.get_level_display()} ({self.trigger})"

    @property
    def is_open(self):
        """Open until its ticket is resolved or closed (acknowledged or not)."""
        return self.closed_at is None

    def get_tier_display(self):
        return [_("Owner"), _("1st deputy"), _("2nd deputy")][self.tier]


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    IN_APP = "in_app", _("In the portal")
    WEBHOOK = "webhook", _("Webhook")


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Not sent on purpose: an escalation e-mail whose escalation closed before delivery.
    SKIPPED = "skipped", _("Skipped")


class Notification(models.Model):
    """The outbox: one row per (ticket, trigger, level, recipient, channel), written in the
    transaction of the event that causes it, delivered after commit (DESIGN §2 steps 4–5)."""

    dedup_key = models.CharField(_("deduplication key"), max_length=200, unique=True)
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("ticket"),
    )
    escalation = models.ForeignKey(
        Escalation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("escalation"),
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,  # webhook rows go to an endpoint, not a user
        blank=True,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    endpoint = models.ForeignKey(
        "WebhookEndpoint",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("webhook endpoint"),
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    trigger = models.CharField(_("trigger"), max_length=80)
    level = models.CharField(_("level"), max_length=12, blank=True)
    template = models.CharField(_("template"), max_length=40)
    context = models.JSONField(_("context"), default=dict, blank=True)
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=NotificationStatus.choices,
        default=NotificationStatus.PENDING,
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"))
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(
                fields=["created_at"],
                name="notification_unsent",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["recipient", "channel", "read_at"]),
        ]

    def __str__(self):
        to = self.recipient or self.endpoint or "–"
        return f"{self.template} → {to} ({self.get_channel_display()}, {self.get_status_display()})"


class Reminder(models.Model):
    """How often a reminder rule fired for one period of a ticket (e.g. one wait for the
    customer): the memory behind "remind once, then close after a second silence"."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="reminders")
    rule = models.CharField(max_length=32)
    period = models.DateTimeField(help_text="start of the period the rule counts in")
    count = models.PositiveSmallIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True)

    objects = TicketChildManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "rule", "period"], name="one_reminder_per_period"
            )
        ]

    def __str__(self):
        return f"{self.rule} × {self.count} (ticket {self.ticket_id})"


# --- outgoing webhooks (Standard Webhooks) ----------------------------------------------------


class WebhookEvent(models.TextChoices):
    TICKET_CREATED = "ticket.created", _("Ticket created")
    TICKET_UPDATED = "ticket.updated", _("Ticket updated")
    TICKET_TRANSITIONED = "ticket.transitioned", _("Ticket status changed")
    SLA_AT_RISK = "sla.at_risk", _("SLA target at risk")
    SLA_BREACHED = "sla.breached", _("SLA target breached")
    ESCALATION_RAISED = "escalation.raised", _("Escalation raised")
    ESCALATION_ACKNOWLEDGED = "escalation.acknowledged", _("Escalation acknowledged")
    MAINTENANCE_ANNOUNCED = "maintenance.announced", _("Maintenance announced")
    MAINTENANCE_UPDATED = "maintenance.updated", _("Maintenance updated")
    TEST = "webhook.test", _("Test event")


ALL_EVENTS = "all"


def new_webhook_secret():
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def validate_webhook_url_field(value):
    validate_url(value, allow_private=True)  # the scheme; the address rule is in clean()


class WebhookEndpoint(models.Model):
    """An organisation's receiver of signed event messages."""

    organization = models.ForeignKey(
        "pim.Organization",
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        verbose_name=_("organisation"),
    )
    url = models.URLField(_("URL"), max_length=500, validators=[validate_webhook_url_field])
    secret = models.CharField(_("secret"), max_length=100, default=new_webhook_secret)
    previous_secret = models.CharField(_("previous secret"), max_length=100, blank=True)
    rotated_at = models.DateTimeField(_("rotated at"), null=True, blank=True)
    event_types = models.JSONField(
        _("event types"),
        default=list,
        blank=True,
        help_text=_('A list of event types; ["all"] (or empty) for every event.'),
    )
    is_active = models.BooleanField(_("active"), default=True)
    disabled_reason = models.CharField(_("disabled because"), max_length=200, blank=True)
    allow_private = models.BooleanField(
        _("allow private addresses"),
        default=False,
        help_text=_("Admins only: deliver to loopback, link-local or private addresses."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return self.url

    def clean(self):
        super().clean()
        if self.url:
            validate_url(self.url, allow_private=self.allow_private)

    def subscribes_to(self, event_type):
        types = self.event_types or [ALL_EVENTS]
        return event_type == WebhookEvent.TEST or ALL_EVENTS in types or event_type in types


class WebhookDelivery(models.Model):
    """One delivery attempt of a webhook message: the delivery log."""

    notification = models.ForeignKey(
        Notification,
        on_delete=models.CASCADE,
        related_name="webhook_deliveries",
        verbose_name=_("notification"),
    )
    attempt = models.PositiveSmallIntegerField(_("attempt"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self):
        return f"{self.notification_id} #{self.attempt}: {self.status_code or self.error}"


# --- what customers are told (issue 12 item 1) -----------------------------------------------


class CustomerEvent(models.TextChoices):
    """The events a reporter and the watchers of a ticket are told about."""

    RECEIPT = "receipt", _("Receipt with the ticket number")
    WAITING = "waiting", _("We need information from you (Waiting for customer)")
    UPDATE = "update", _("Public progress updates")
    STATUS = "status", _("Other status changes (resolved, reopened, planned, closed)")
    PRIORITY = "priority", _("Priority changes, with the new due times")
    ESCALATION = "escalation", _("Acknowledgement of your escalation")
    RATING = "rating", _("The request to rate a closed ticket")


# Always sent, by e-mail and in the portal: the preferences cannot switch these off.
MANDATORY_EVENTS = frozenset({CustomerEvent.RECEIPT, CustomerEvent.WAITING})


class NotificationPreference(models.Model):
    """Which customer events a person is told about, and how. No row: the defaults (every
    event, by e-mail and in the portal)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    by_email = models.BooleanField(_("by e-mail"), default=True)
    in_app = models.BooleanField(_("in the portal (the bell)"), default=True)
    muted_events = models.JSONField(
        _("events switched off"),
        default=list,
        blank=True,
        help_text=_("Event codes the person does not want to hear about."),
    )

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self):
        return f"{self.user}: {self.muted_events or '-'}"

    def channels_for(self, event) -> list[str]:
        """The channels `event` goes out on for this person (none when they muted it)."""
        if event in MANDATORY_EVENTS:
            return [Channel.EMAIL, Channel.IN_APP]
        if event in (self.muted_events or []):
            return []
        wanted = ((Channel.EMAIL, self.by_email), (Channel.IN_APP, self.in_app))
        return [channel for channel, on in wanted if on]


DEFAULT_PREFERENCE = NotificationPreference(by_email=True, in_app=True, muted_events=[])
