"""Calendars, SLA policies, contracts (DAP), per-ticket clocks and their append-only ledger."""

import uuid
from datetime import time
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from pim.inputs import DESCRIPTION_MAX, parse_priorities
from pim.models import Organization, Service
from tickets.models import Kind, Ticket, TicketChildManager


class ServiceWindow(models.TextChoices):
    OFFICE_HOURS = "office_hours", _("Office hours (Mon–Fri 08:00–17:00)")
    ALWAYS = "24x7", _("24/7")


class Calendar(models.Model):
    """Opening hours in one zone, public holidays of a country, and per-date corrections."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    always_open = models.BooleanField(
        _("open 24/7"), default=False, help_text=_("Every hour, public holidays included.")
    )
    timezone = models.CharField(_("time zone"), max_length=60, default="Europe/Amsterdam")
    holiday_country = models.CharField(
        _("holiday country"),
        max_length=2,
        default="NL",
        blank=True,
        help_text=_("Public holidays of this country (ISO code) are closed. Empty: none."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("calendar")
        verbose_name_plural = _("calendars")

    def __str__(self):
        return self.name


class OpeningHours(models.Model):
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(
        _("weekday"),
        choices=[
            (0, _("Monday")),
            (1, _("Tuesday")),
            (2, _("Wednesday")),
            (3, _("Thursday")),
            (4, _("Friday")),
            (5, _("Saturday")),
            (6, _("Sunday")),
        ],
    )
    opens = models.TimeField(_("opens"), default=time(8))
    closes = models.TimeField(_("closes"), default=time(17))

    class Meta:
        ordering = ["weekday"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.UniqueConstraint(fields=["calendar", "weekday"], name="one_range_per_weekday"),
            models.CheckConstraint(
                name="opens_before_closes", condition=models.Q(opens__lt=models.F("closes"))
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class CalendarDate(models.Model):
    """A date that overrides the holiday set: an extra closing day, or a day open after all."""

    class Kind(models.TextChoices):
        CLOSED = "closed", _("Closed")
        OPEN = "open", _("Open")

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="dates")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices, default=Kind.CLOSED)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar date")
        verbose_name_plural = _("calendar dates")
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="one_override_per_date")
        ]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()}"


class Target(models.TextChoices):
    RESPONSE = "response", _("Response")
    RESTORE = "restore", _("Restore")
    RESOLUTION = "resolution", _("Resolution")
    PICKUP = "pickup", _("Pickup")
    # a change's steps (seed §5.2.2): the quote notice within 3 working days, the quote itself
    QUOTE_NOTICE = "quote_notice", _("Quote notice")
    QUOTE = "quote", _("Quote")


class SlaPolicy(models.Model):
    """Default targets, at-risk share and calendars; contracts refer to a policy.

    Tickets snapshot the policy (with the contract's overrides) at registration, so editing a
    policy applies to new tickets only.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    at_risk_share = models.DecimalField(
        _("at-risk share"),
        max_digits=3,
        decimal_places=2,
        default=0.75,
        help_text=_("A clock is at risk once this share of its target is used."),
    )
    office_calendar = models.ForeignKey(
        Calendar,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("office hours calendar"),
    )
    always_calendar = models.ForeignKey(
        Calendar, on_delete=models.PROTECT, related_name="+", verbose_name=_("24/7 calendar")
    )
    always_priorities = models.CharField(
        _("24/7 priorities"),
        max_length=20,
        default="1,2",
        help_text=_(
            "On a 24/7 contract these priorities use the 24/7 calendar; the rest office hours."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self):
        return self.name

    def clean(self):
        # A field the form already refused is None here: no second error, no TypeError.
        if self.at_risk_share is not None and not 0 < float(self.at_risk_share) < 1:
            raise ValidationError({"at_risk_share": _("Give a share between 0 and 1.")})
        try:
            parse_priorities(self.always_priorities)
        except ValidationError as exc:
            raise ValidationError({"always_priorities": exc.messages}) from None


class Unit(models.TextChoices):
    MINUTES = "minutes", _("Business minutes")
    WORKING_DAYS = "working_days", _("Working days")
    END_OF_DAY = "end_of_day", _("Same working day")


class PolicyTarget(models.Model):
    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(_("ticket kind"), max_length=16, default="incident")
    priority = models.PositiveSmallIntegerField(_("priority"))
    target = models.CharField(_("target"), max_length=16, choices=Target.choices)
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices, default=Unit.MINUTES)
    amount = models.PositiveIntegerField(_("amount"), default=0)
    average_goal_minutes = models.PositiveIntegerField(
        _("average goal (minutes)"), null=True, blank=True
    )
    always_calendar = models.BooleanField(
        _("always on 24/7"),
        default=False,
        help_text=_("Run this target on the 24/7 calendar whatever the contract (e.g. 24 hours)."),
    )

    class Meta:
        ordering = ["kind", "priority", "target"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "kind", "priority", "target"], name="one_target_per_policy_key"
            )
        ]

    def __str__(self):
        return target_text(self)


def default_emergency_scenarios():
    """Appendix 1: P1 → Werkwijzer 4, P2 → Werkwijzer 3, P3/P4 → none."""
    return {"1": "Werkwijzer 4", "2": "Werkwijzer 3"}


class Contract(models.Model):
    """An organisation's agreement (DAP): policy, service window, overrides, scenarios."""

    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="contracts",
        verbose_name=_("organisation"),
    )
    policy = models.ForeignKey(
        SlaPolicy, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("SLA policy")
    )
    service_window = models.CharField(
        _("service window"),
        max_length=16,
        choices=ServiceWindow.choices,
        default=ServiceWindow.OFFICE_HOURS,
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    emergency_scenarios = models.JSONField(
        _("emergency scenario per priority"),
        default=default_emergency_scenarios,
        blank=True,
        help_text=_('For example {"1": "Werkwijzer 4", "2": "Werkwijzer 3"}.'),
    )
    notes = models.TextField(_("scope notes"), blank=True)

    class Meta:
        ordering = ["organization", "-valid_from"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")

    def __str__(self):
        return f"{self.organization} ({self.get_service_window_display()}, {self.valid_from})"

    def clean(self):
        if self.valid_to and self.valid_from and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("The end lies before the start.")})


class ContractOverride(models.Model):
    """A customer-specific target (DAP) replacing the policy's for one kind/priority/target."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="overrides")
    kind = models.CharField(_("ticket kind"), max_length=16, default="incident")
    priority = models.PositiveSmallIntegerField(_("priority"))
    target = models.CharField(_("target"), max_length=16, choices=Target.choices)
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices, default=Unit.MINUTES)
    amount = models.PositiveIntegerField(_("amount"))

    class Meta:
        verbose_name = _("override")
        verbose_name_plural = _("overrides (DAP)")
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "kind", "priority", "target"], name="one_override_per_key"
            )
        ]

    def __str__(self):
        return target_text(self)


def target_text(row):
    """A target or override in the reader's language: "Incident P1 Response: 30 Business
    minutes"."""
    kind = Kind(row.kind).label if row.kind in Kind.values else row.kind
    return (
        f"{kind} P{row.priority} {row.get_target_display()}: {row.amount} {row.get_unit_display()}"
    )


class TicketSla(models.Model):
    """What a ticket was registered under: the frozen policy + contract terms (the snapshot)."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="sla_terms")
    contract = models.ForeignKey(Contract, on_delete=models.SET_NULL, null=True, blank=True)
    terms = models.JSONField(default=dict)
    follow_up_kind = models.CharField(max_length=24, blank=True)
    follow_up_due_at = models.DateTimeField(null=True, blank=True)
    pir_due_at = models.DateTimeField(_("PIR due"), null=True, blank=True)
    pir_filed_at = models.DateTimeField(_("PIR filed"), null=True, blank=True)

    objects = TicketChildManager()

    def __str__(self):
        return f"SLA terms of ticket {self.ticket_id}"


class ClockEvent(models.Model):
    """The append-only ledger the clocks are derived from."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        RESPONDED = "responded", _("Responded")
        PAUSED = "paused", _("Clock paused")
        RESUMED = "resumed", _("Clock resumed")
        NO_ACCESS = "no_access", _("No access to the premises")
        RESOLVED = "resolved", _("Resolved")
        REOPENED = "reopened", _("Reopened")
        CLOSED = "closed", _("Closed")
        PRIORITY = "priority", _("Priority changed")
        CALENDAR = "calendar", _("Calendar corrected")
        WORKAROUND = "workaround", _("Workaround in place")
        QUOTE_NOTICE = "quote_notice", _("Quote notice given")
        QUOTE_SENT = "quote_sent", _("Quote sent")
        QUOTE_WAIVED = "quote_waived", _("No quote needed")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="clock_events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    until = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = TicketChildManager()

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("clock event")
        verbose_name_plural = _("clock events")

    def __str__(self):
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"


class ClockState(models.TextChoices):
    PENDING = "pending", _("Pending")
    AT_RISK = "at_risk", _("At risk")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")


# What the compliance aggregation reads of a clock after its month and organisation: the
# key columns of both compliance indexes, so either serves it from the index alone.
COMPLIANCE_COLUMNS = [
    "priority",
    "target",
    "state",
    "stopped_at",
    "paused",
    "due_at",
    "used_seconds",
]


class Clock(models.Model):
    """One target of one ticket, as last derived from the ledger."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="clocks")
    target = models.CharField(max_length=16, choices=Target.choices)
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="+")
    target_seconds = models.PositiveIntegerField()
    started_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    at_risk_at = models.DateTimeField(null=True, blank=True)
    paused = models.BooleanField(default=False)
    stopped_at = models.DateTimeField(null=True, blank=True)
    used_seconds = models.PositiveIntegerField(
        default=0, help_text="business seconds used at computed_at"
    )
    computed_at = models.DateTimeField()
    state = models.CharField(max_length=8, choices=ClockState.choices, default=ClockState.PENDING)
    # Copied from the ticket by every write of the row (`services.report_columns`), so the
    # compliance figures are one index-only aggregation of this table at a million tickets:
    # the organisation, the current priority, the month the clock counts in (the month of the
    # ticket's registration, in TIME_ZONE) and whether the SLA applies to the ticket.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", null=True, db_index=False
    )
    priority = models.PositiveSmallIntegerField(null=True)
    month = models.DateField(null=True)
    counted = models.BooleanField(default=True)

    objects = TicketChildManager()

    class Meta:
        ordering = ["ticket", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "target"], name="one_clock_per_target")
        ]
        indexes = [
            models.Index(fields=["target", "state"]),
            # compliance: GROUP BY month, organisation, priority, target from the index alone
            # (the live met/breached test reads state, stopped_at, paused and due_at; the
            # restore average used_seconds: all key columns, which every database supports)
            models.Index(
                fields=["month", "organization", *COMPLIANCE_COLUMNS],
                condition=models.Q(counted=True),
                name="clock_compliance",
            ),
            # the same for one organisation's months (an authorised contact, the organisation
            # filter, the monthly report): without it the organisation is a filter over every
            # organisation's clocks of the months
            models.Index(
                fields=["organization", "month", *COMPLIANCE_COLUMNS],
                condition=models.Q(counted=True),
                name="clock_compliance_org",
            ),
        ]

    def __str__(self):
        return f"{self.target} of ticket {self.ticket_id}: {self.state}"


class SlaEvent(models.Model):
    """A clock reached a state (at risk, breached, met): recorded once per (ticket, target, kind)
    by the sweep, so re-running it cannot record (or escalate) anything twice."""

    class Kind(models.TextChoices):
        AT_RISK = "at_risk", _("At risk")
        BREACHED = "breached", _("Breached")
        MET = "met", _("Met")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_events")
    target = models.CharField(_("target"), max_length=16, choices=Target.choices)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    at = models.DateTimeField(_("at"))
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = TicketChildManager()

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("SLA event")
        verbose_name_plural = _("SLA events")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "target", "kind"], name="one_sla_event_per_kind"
            )
        ]

    def __str__(self):
        return f"{self.target} {self.kind} of ticket {self.ticket_id}"


def sla_document_path(instance, filename):
    """The stored name is random, under the organisation (on the attachments' storage); the
    original name is kept in the row."""
    return f"sla/{instance.contract.organization_id}/{uuid.uuid4().hex}"


class RouteState(models.TextChoices):
    """The Major Change route's recorded state (SPEC §11); `sla.majorchange.phase` adds what
    the passing deadlines mean."""

    NOTICE = "notice", _("Announced: objection possible")
    ACCEPTED = "accepted", _("No objection: applies as announced")
    OBJECTED = "objected", _("Objected: the provider consults")
    CONSULTED = "consulted", _("Consulted: agreement possible")
    AGREED = "agreed", _("Agreed")
    TERMINATED = "terminated", _("Terminated by the customer")
    LAPSED = "lapsed", _("Not terminated: applies after the termination window")


class SlaDocumentVersion(models.Model):
    """A version of the SLA document of a contract (SPEC §11): number, date, description, the
    signed PDF, the policy it brings in and the date it takes effect. Announced to the
    organisation's authorised contacts at least 3 calendar months before it takes effect
    (`sla.documents.NOTICE_MONTHS`)."""

    contract = models.ForeignKey(
        Contract,
        on_delete=models.CASCADE,
        related_name="document_versions",
        verbose_name=_("contract"),
    )
    number = models.CharField(_("version number"), max_length=20, help_text=_("For example 2.1."))
    date = models.DateField(_("document date"))
    description = models.TextField(_("description"), blank=True, max_length=DESCRIPTION_MAX)
    document = models.FileField(_("document (PDF)"), upload_to=sla_document_path, max_length=300)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    policy = models.ForeignKey(
        SlaPolicy,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("SLA policy it brings in"),
    )
    effective_from = models.DateField(_("effective from"))
    announced_at = models.DateTimeField(_("announced"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # The Major Change route (SPEC §11, `sla.majorchange`): the provider's mark, the targets the
    # portal found longer than in the policy the version replaces, and what each side recorded.
    major_change = models.BooleanField(
        _("Major Change"),
        default=False,
        help_text=_("Substantially worse terms for the customer: the objection route applies."),
    )
    worse_targets = models.JSONField(_("longer targets"), default=list, blank=True)
    route_state = models.CharField(
        _("Major Change state"), max_length=16, choices=RouteState.choices, blank=True
    )
    # The date the version applies from, once known (None while a Major Change route is open):
    # the reminders read it through its index.
    applies_from = models.DateField(_("applies from"), null=True, blank=True)
    objected_at = models.DateTimeField(_("objected"), null=True, blank=True)
    objection_reason = models.TextField(_("objection"), blank=True, max_length=DESCRIPTION_MAX)
    consulted_at = models.DateTimeField(_("consulted"), null=True, blank=True)
    consultation = models.TextField(_("consultation"), blank=True, max_length=DESCRIPTION_MAX)
    agreed_at = models.DateTimeField(_("agreed"), null=True, blank=True)
    agreed_on = models.DateField(_("agreed date"), null=True, blank=True)
    terminated_at = models.DateTimeField(_("terminated"), null=True, blank=True)
    terminates_on = models.DateField(_("termination takes effect"), null=True, blank=True)

    class Meta:
        ordering = ["-effective_from", "-pk"]
        verbose_name = _("SLA document version")
        verbose_name_plural = _("SLA document versions")
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "number"], name="one_sla_document_version_per_number"
            )
        ]
        indexes = [
            # the reminders before a version takes effect (`majorchange.run_reminders`)
            models.Index(fields=["applies_from"], name="sla_doc_applies_from"),
            # the Major Change routes still open (deadlines, reminders)
            models.Index(
                fields=["route_state"],
                condition=models.Q(route_state__in=["notice", "objected", "consulted"]),
                name="sla_doc_open_route",
            ),
        ]

    def __str__(self):
        return f"{self.number} ({self.effective_from})"

    def clean(self):
        from .documents import document_problem, notice_problem  # deferred: it imports models

        errors = {}
        if self.effective_from and (
            problem := notice_problem(self.announced_at, self.effective_from)
        ):
            errors["effective_from"] = problem
        if self.document and not self.pk and (problem := document_problem(self.document)):
            errors["document"] = problem
        if errors:
            raise ValidationError(errors)


# --- availability (SPEC §9) -------------------------------------------------------------------


class ServiceKind(models.TextChoices):
    SERVICE_SUPPORT = "service_support", _("Service & Support")
    ONCALL = "oncall", _("On-call service")
    CORE_NETWORK = "core_network", _("Core network")
    DATACENTER = "datacenter", _("Datacenter")
    PLATFORM = "platform", _("Platform")
    CONNECTION = "connection", _("Connection")


# SPEC §9: the yearly availability target of each kind, in per cent. A connection has none of
# its own kind: its target is the one in the connection's contract (ServiceLevel.target).
KIND_TARGETS = {
    ServiceKind.SERVICE_SUPPORT: Decimal("99.99"),
    ServiceKind.ONCALL: Decimal("99.99"),
    ServiceKind.CORE_NETWORK: Decimal("99.98"),
    ServiceKind.DATACENTER: Decimal("99.98"),
    ServiceKind.PLATFORM: Decimal("99.9"),
}
# SPEC §9: Service & Support is measured in office hours, everything else around the clock.
OFFICE_HOURS_KINDS = frozenset({ServiceKind.SERVICE_SUPPORT})


class ServiceLevel(models.Model):
    """What a service promises (SPEC §9): its kind, yearly availability target and service
    window. A service without a row is Service & Support with the defaults."""

    service = models.OneToOneField(
        Service,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="level",
        verbose_name=_("service"),
    )
    kind = models.CharField(
        _("kind of service"),
        max_length=16,
        choices=ServiceKind.choices,
        default=ServiceKind.SERVICE_SUPPORT,
    )
    target = models.DecimalField(
        _("yearly availability target (%)"),
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        help_text=_(
            "Empty: the target of its kind (Service & Support and on-call 99.99, core network "
            "and datacenter 99.98, platform 99.9). A connection's target is the one in the "
            "connection's contract: required."
        ),
    )
    window = models.ForeignKey(
        Calendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("service window"),
        help_text=_(
            "Empty: office hours for Service & Support, 24/7 for the rest (the calendars of "
            "the organisation's SLA policy)."
        ),
    )

    class Meta:
        verbose_name = _("availability terms")
        verbose_name_plural = _("availability terms")
        constraints = [
            models.CheckConstraint(
                name="connection_has_its_own_target",
                condition=~models.Q(kind="connection") | models.Q(target__isnull=False),
            ),
            models.CheckConstraint(
                name="availability_target_is_a_share",
                condition=models.Q(target__isnull=True) | models.Q(target__gt=0, target__lte=100),
            ),
        ]

    def __str__(self):
        return f"{self.service}: {self.get_kind_display()}"

    def clean(self):
        if self.kind == ServiceKind.CONNECTION and self.target is None:
            raise ValidationError({"target": _("Give the target of the connection's contract.")})
        if self.target is not None and not 0 < self.target <= 100:
            raise ValidationError({"target": _("Give a percentage above 0, at most 100.")})

    @property
    def target_percent(self):
        return target_percent(self.kind, self.target)


def target_percent(kind, target=None):
    """The yearly target in per cent: the service's own, else its kind's (SPEC §9)."""
    if target is not None:
        return Decimal(target)
    return KIND_TARGETS.get(kind, KIND_TARGETS[ServiceKind.SERVICE_SUPPORT])


class Outage(models.Model):
    """An incident that marks an outage of its service (SPEC §9): from `starts_at` (empty: the
    ticket's registration) to `ends_at` (empty: the restore moment, the restore clock's stop; an
    outage not restored yet lasts until now). Set by agents, audited on the ticket."""

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, primary_key=True, related_name="outage"
    )
    starts_at = models.DateTimeField(_("outage start"), null=True, blank=True)
    ends_at = models.DateTimeField(_("outage end"), null=True, blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("marked by"),
    )
    marked_at = models.DateTimeField(_("marked at"), auto_now=True)

    objects = TicketChildManager()

    class Meta:
        verbose_name = _("outage")
        verbose_name_plural = _("outages")
        constraints = [
            models.CheckConstraint(
                name="outage_ends_after_start",
                condition=models.Q(starts_at__isnull=True)
                | models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
            )
        ]

    def __str__(self):
        return f"outage of ticket {self.ticket_id}"


class SlaDocumentStep(models.Model):
    """The audit trail of a version: its announcement, the Major Change route's steps and the
    deadlines that passed, with who (None: the portal itself), when and what was said."""

    class Kind(models.TextChoices):
        ANNOUNCED = "announced", _("Announced")
        OBJECTED = "objected", _("Objection")
        CONSULTED = "consulted", _("Consultation")
        AGREED = "agreed", _("Agreement")
        TERMINATED = "terminated", _("Termination")
        ACCEPTED = "accepted", _("No objection within 30 days")
        NO_AGREEMENT = "no_agreement", _("No agreement within the term")
        LAPSED = "lapsed", _("Not terminated within 30 days")

    version = models.ForeignKey(SlaDocumentVersion, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(_("step"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.TextField(_("note"), blank=True, max_length=DESCRIPTION_MAX)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("SLA document step")
        verbose_name_plural = _("SLA document steps")
        constraints = [
            # a deadline that passed is recorded once, however often the task runs
            models.UniqueConstraint(fields=["version", "kind"], name="one_sla_document_step")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.at:%Y-%m-%d})"


def monthly_report_path(instance, filename):
    """A report's files: a random name under the organisation (the attachments' storage),
    with the file's own extension; they are served only through the report's views."""
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"sla-reports/{instance.organization_id}/{uuid.uuid4().hex}.{extension}"


class MonthlyReport(models.Model):
    """The monthly SLA report of one organisation (issue 17 item 3): its PDF and CSV as they
    were generated (`sla.monthly`), in the language of the organisation's authorised contacts,
    and when it was mailed to them and the provider's managers (once)."""

    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("organisation"),
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month reported on."))
    language = models.CharField(_("language"), max_length=8, default="nl")
    generated_at = models.DateTimeField(_("generated"))
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("generated by"),
    )
    pdf = models.FileField(_("PDF"), upload_to=monthly_report_path, max_length=300)
    csv = models.FileField(_("CSV"), upload_to=monthly_report_path, max_length=300)
    mailed_at = models.DateTimeField(_("mailed"), null=True, blank=True)

    class Meta:
        ordering = ["-month", "organization_id"]
        verbose_name = _("monthly SLA report")
        verbose_name_plural = _("monthly SLA reports")
        constraints = [
            # month first: the daily task reads a month's reports through this index
            models.UniqueConstraint(fields=["month", "organization"], name="one_report_per_month")
        ]
        indexes = [
            # an authorised contact's list: their organisation's reports, newest first
            models.Index(fields=["organization", "-month"], name="sla_report_org_month"),
        ]

    def __str__(self):
        return f"{self.organization_id} {self.month:%Y-%m}"
