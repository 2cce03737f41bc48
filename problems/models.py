"""Problems and known errors (SPEC §7, seed §6).

A problem is one-to-one with a ticket of kind `problem` (the PRB number, the investigation
timeline as the ticket's internal updates, the status and the audit trail stay the ticket's):
provider-internal, customers never see it (`Ticket.objects.visible_to` leaves problems out for
them). It is raised from incidents of any organisations (`ProblemIncident`); its root cause is
recorded as a `KnownError` with a workaround, which staff may publish to the affected
organisations' customers, who may follow it until it is fixed.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from changes.models import ChangeRequest
from pim.models import Organization, Service
from tickets.models import Priority, Ticket


class Level(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


# Impact × urgency → priority (the usual ITIL matrix; seed §6.2 "Aan de hand van de impact en
# urgentie wordt de correcte prioriteit toegekend"). A problem uses the incident priorities.
PRIORITY_MATRIX = {
    (Level.HIGH, Level.HIGH): Priority.P1,
    (Level.HIGH, Level.MEDIUM): Priority.P2,
    (Level.MEDIUM, Level.HIGH): Priority.P2,
    (Level.HIGH, Level.LOW): Priority.P3,
    (Level.MEDIUM, Level.MEDIUM): Priority.P3,
    (Level.LOW, Level.HIGH): Priority.P3,
    (Level.MEDIUM, Level.LOW): Priority.P4,
    (Level.LOW, Level.MEDIUM): Priority.P4,
    (Level.LOW, Level.LOW): Priority.P4,
}


def priority_for(impact, urgency) -> int:
    return int(PRIORITY_MATRIX[(Level(impact), Level(urgency))])


class Problem(models.Model):
    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="problem", verbose_name=_("ticket")
    )
    impact = models.CharField(
        _("impact"), max_length=8, choices=Level.choices, default=Level.MEDIUM
    )
    urgency = models.CharField(
        _("urgency"), max_length=8, choices=Level.choices, default=Level.MEDIUM
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    root_cause = models.TextField(_("root cause"), blank=True)
    incidents = models.ManyToManyField(
        Ticket, through="ProblemIncident", related_name="+", verbose_name=_("incidents")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("problem")
        verbose_name_plural = _("problems")

    def __str__(self):
        return str(self.ticket) if self.ticket_id else ""


class ProblemIncident(models.Model):
    """An incident (of any organisation) linked to a problem."""

    problem = models.ForeignKey(
        Problem, on_delete=models.CASCADE, related_name="links", verbose_name=_("problem")
    )
    incident = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="problem_links", verbose_name=_("incident")
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    linked_at = models.DateTimeField(_("linked at"))

    class Meta:
        ordering = ["linked_at", "pk"]
        verbose_name = _("linked incident")
        verbose_name_plural = _("linked incidents")
        constraints = [
            models.UniqueConstraint(fields=["problem", "incident"], name="one_link_per_incident")
        ]

    def __str__(self):
        return f"{self.problem_id} ← {self.incident_id}"


class KnownError(models.Model):
    """The root cause of a problem with its workaround (seed §6.2 "De Known Error wordt
    gedocumenteerd"); fixed through a linked change."""

    problem = models.ForeignKey(
        Problem, on_delete=models.CASCADE, related_name="known_errors", verbose_name=_("problem")
    )
    title = models.CharField(_("title"), max_length=200)
    symptoms = models.TextField(_("symptoms"), blank=True)
    root_cause = models.TextField(_("root cause"), blank=True)
    workaround = models.TextField(_("workaround"), blank=True)
    services = models.ManyToManyField(
        Service, blank=True, related_name="+", verbose_name=_("services")
    )
    published_to = models.ManyToManyField(
        Organization,
        blank=True,
        related_name="+",
        verbose_name=_("published to"),
        help_text=_("The organisations whose customers see it while they file an incident."),
    )
    fix_change = models.ForeignKey(
        ChangeRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("fix (change)"),
    )
    fixed_at = models.DateTimeField(_("fixed at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("known error")
        verbose_name_plural = _("known errors")

    def __str__(self):
        return self.title


class KnownErrorFollower(models.Model):
    """A customer who follows a published known error: told once when it is fixed."""

    known_error = models.ForeignKey(
        KnownError,
        on_delete=models.CASCADE,
        related_name="followers",
        verbose_name=_("known error"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    followed_at = models.DateTimeField(_("followed at"))
    told_at = models.DateTimeField(_("told of the fix"), null=True, blank=True)

    class Meta:
        ordering = ["followed_at", "pk"]
        verbose_name = _("follower")
        verbose_name_plural = _("followers")
        constraints = [
            models.UniqueConstraint(fields=["known_error", "user"], name="one_follow_per_user")
        ]

    def __str__(self):
        return f"{self.user_id} → {self.known_error_id}"


class WorkaroundSent(models.Model):
    """The workaround of a known error went to a person: once per (known error, person), so
    sending it again reaches only the people linked since (the outbox idempotency of escalation
    one level up: this row decides, the outbox row's dedup key guards the message)."""

    known_error = models.ForeignKey(
        KnownError, on_delete=models.CASCADE, related_name="sent_to", verbose_name=_("known error")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("recipient"),
    )
    incident = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("incident")
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent"))

    class Meta:
        ordering = ["sent_at", "pk"]
        verbose_name = _("workaround sent")
        verbose_name_plural = _("workarounds sent")
        constraints = [
            models.UniqueConstraint(
                fields=["known_error", "user"], name="workaround_once_per_person"
            )
        ]

    def __str__(self):
        return f"{self.known_error_id} → {self.user_id}"
