"""Change requests (SPEC §6, seed §5): the request, its classification and route, the quote or
RFC documents in versions, and every approval given or refused.

A change request is one-to-one with a ticket of kind `change` (the number, the receipt, the
pickup clock and the history stay the ticket's); its step clocks (the quote notice, the quote)
are sla clocks of that ticket.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from pim.models import Service
from tickets.models import Attachment, Ticket, TicketChildManager


class ChangeType(models.TextChoices):
    STANDARD = "standard", _("Standard")
    MEDIUM = "medium", _("Medium")
    LARGE = "large", _("Large")
    EXCEPTIONAL = "exceptional", _("Exceptional")


class Stage(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    CLASSIFIED = "classified", _("Classified")
    VERIFICATION = "verification", _("In verification")
    QUOTED = "quoted", _("Quote sent")
    ESTIMATED = "estimated", _("Estimate sent")
    APPROVED = "approved", _("Approved")
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    ACCEPTANCE = "acceptance", _("On acceptance")
    ACCEPTED = "accepted", _("Accepted, to production")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


FINISHED_STAGES = frozenset({Stage.CLOSED, Stage.CANCELLED})


class Route(models.TextChoices):
    """The route of a small change (seed 004 "Kleine wijzigingen", SPEC §10), decided by the
    provider's estimate: under 45 minutes done at once and offered on the acceptance
    environment; from 45 minutes up to 4 hours an estimate the customer accepts first; over 4
    hours, or a new application or form, always a quote."""

    DIRECT = "direct", _("Done at once, then your acceptance")
    ESTIMATE = "estimate", _("Estimate first")
    QUOTE = "quote", _("Through a quote")


# The boundaries of the routes in minutes: under DIRECT_BELOW direct, up to QUOTE_ABOVE an
# estimate, above it (or a new application or form) a quote.
DIRECT_BELOW = 45
QUOTE_ABOVE = 4 * 60
ESTIMATE_MAX = 100_000  # a plausible upper bound for an estimate (about 1,667 hours)


def route_for(minutes, new_application=False, type_=""):
    """The route an estimate of `minutes` gives (None without an estimate). A large change goes
    through its RFC and an exceptional one through its quote, whatever the estimate."""
    if minutes is None and not new_application:
        return None
    if new_application or minutes > QUOTE_ABOVE:
        return Route.QUOTE
    if type_ in (ChangeType.LARGE, ChangeType.EXCEPTIONAL):
        return Route.QUOTE
    return Route.DIRECT if minutes < DIRECT_BELOW else Route.ESTIMATE


class ChangeRequest(models.Model):
    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="change_request", verbose_name=_("ticket")
    )
    type = models.CharField(_("type"), max_length=12, choices=ChangeType.choices, blank=True)
    type_reason = models.TextField(_("reason for the type"), blank=True)
    classified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    classified_at = models.DateTimeField(_("classified at"), null=True, blank=True)
    stage = models.CharField(
        _("stage"), max_length=12, choices=Stage.choices, default=Stage.REQUESTED
    )
    # Raised from incidents or problems (seed §5.1): never a standard change.
    non_standard = models.BooleanField(_("non-standard"), default=False)
    raised_from = models.ForeignKey(
        Ticket,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("raised from"),
    )
    # What the requester told us besides the title and description (what).
    why = models.TextField(_("why"), blank=True)
    wished_date = models.DateField(_("wished date"), null=True, blank=True)
    services = models.ManyToManyField(
        Service, blank=True, related_name="+", verbose_name=_("services concerned")
    )
    # The quote (seed §5.2.2): due 10 calendar days after receipt, or the announced date.
    quote_due_at = models.DateTimeField(_("quote due"), null=True, blank=True)
    quote_notice_at = models.DateTimeField(_("quote notice given"), null=True, blank=True)
    quote_free = models.BooleanField(_("quote free of charge"), null=True, blank=True)
    planned_start = models.DateTimeField(_("planned start"), null=True, blank=True)
    planned_end = models.DateTimeField(_("planned end"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    finished_at = models.DateTimeField(_("closed or cancelled"), null=True, blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    # The provider's estimate of the work (seed 004): it decides the route (see Route).
    estimate_minutes = models.PositiveIntegerField(_("estimate (minutes)"), null=True, blank=True)
    new_application = models.BooleanField(_("new application or form"), default=False)
    estimated_at = models.DateTimeField(_("estimated at"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TicketChildManager()

    class Meta:
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        indexes = [models.Index(fields=["stage"])]

    def __str__(self):
        return f"{self.ticket_id} {self.stage}"

    @property
    def document_kind(self):
        """A large change is decided on an RFC, every other one on a quote."""
        return DocumentKind.RFC if self.type == ChangeType.LARGE else DocumentKind.QUOTE

    @property
    def route(self):
        """The small-change route the estimate gives (a Route), or None before an estimate."""
        return route_for(self.estimate_minutes, self.new_application, self.type)


class ChangeChildQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(change__ticket__in=Ticket.objects.visible_to(user))


ChangeChildManager = ScopedManager(
    organization="change__ticket__organization",
    _manager_class=models.Manager.from_queryset(ChangeChildQuerySet),
).__class__


class DocumentKind(models.TextChoices):
    QUOTE = "quote", _("Quote")
    RFC = "rfc", _("RFC")
    ESTIMATE = "estimate", _("Estimate")


class DocumentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUPERSEDED = "superseded", _("Superseded")


class ChangeDocument(models.Model):
    """A version of the quote or the RFC the customer decides on."""

    change = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=8, choices=DocumentKind.choices)
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=12, choices=DocumentStatus.choices, default=DocumentStatus.SENT
    )
    amount = models.DecimalField(
        _("amount (EUR)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    free = models.BooleanField(_("free of charge"), default=True)
    # an estimate's minutes (the time the work is expected to take)
    minutes = models.PositiveIntegerField(_("estimate (minutes)"), null=True, blank=True)
    attachment = models.ForeignKey(
        Attachment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("document"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    objects = ChangeChildManager()

    class Meta:
        ordering = ["change", "version"]
        verbose_name = _("change document")
        verbose_name_plural = _("change documents")
        constraints = [
            models.UniqueConstraint(fields=["change", "version"], name="one_document_per_version")
        ]

    def __str__(self):
        return f"{self.kind} v{self.version} ({self.status})"


class ApprovalSubject(models.TextChoices):
    CHANGE = "change", _("Change")
    QUOTE = "quote", _("Quote")
    RFC = "rfc", _("RFC")
    ESTIMATE = "estimate", _("Estimate")
    RESULT = "result", _("Result on acceptance")


class Decision(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Side(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    PROVIDER = "provider", _("Provider")


class ChangeApproval(models.Model):
    """An approval or rejection: of the change itself, or of one version of its quote or RFC."""

    change = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="approvals")
    document = models.ForeignKey(
        ChangeDocument, on_delete=models.CASCADE, null=True, blank=True, related_name="approvals"
    )
    what = models.CharField(_("what"), max_length=8, choices=ApprovalSubject.choices)
    version = models.PositiveIntegerField(_("version"), null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))
    decision = models.CharField(_("decision"), max_length=8, choices=Decision.choices)
    side = models.CharField(_("side"), max_length=8, choices=Side.choices)
    note = models.TextField(_("note"), blank=True)

    objects = ChangeChildManager()

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("change approval")
        verbose_name_plural = _("change approvals")

    def __str__(self):
        return f"{self.what} v{self.version or '-'} {self.decision} by {self.by_id}"
