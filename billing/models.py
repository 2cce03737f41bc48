"""Time entries on a ticket (SPEC §10, seed 004, issue 18 item 1): who worked how long on what,
and whether the monthly SLA fee covers it or it is billed."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from tickets.models import Ticket, TicketChildQuerySet

MINUTES_MIN = 1
MINUTES_MAX = 1440  # one day


class Category(models.TextChoices):
    """What the time was spent on; the seed's rules decide whether it is billed."""

    # within the SLA's monthly fee
    INCIDENT_PROVIDER = "incident_provider", _("Incident caused by the provider (within SLA)")
    INTAKE_ADMIN = "intake_admin", _("Intake and ticket administration (within SLA)")
    ADMIN_QUESTION = "admin_question", _("Short administrative question (within SLA)")
    # billable
    INCIDENT_THIRD_PARTY = "incident_third_party", _("Incident caused by a third party")
    INCIDENT_GENERAL_DEVELOPMENT = (
        "incident_general_development",
        _("Incident by a general technical development not taken into the product"),
    )
    INCIDENT_HOURLY_WORK = "incident_hourly_work", _("Incident following hourly-billed work")
    INCIDENT_OLD_QUOTE = (
        "incident_old_quote",
        _("Incident following quoted work delivered over 6 months ago"),
    )
    CHANGE = "change", _("Change")
    CONSULTANCY = "consultancy", _("Consultancy")
    TRAINING = "training", _("Training")
    PHONE_SUPPORT = "phone_support", _("Phone support outside an in-scope incident")
    CONTENT_QUESTION = "content_question", _("Content question beyond fair use")


WITHIN_SLA = frozenset({Category.INCIDENT_PROVIDER, Category.INTAKE_ADMIN, Category.ADMIN_QUESTION})


def is_billable(category) -> bool:
    return category not in WITHIN_SLA


TimeEntryManager = ScopedManager(
    organization="ticket__organization",
    _manager_class=models.Manager.from_queryset(TicketChildQuerySet),
).__class__


class TimeEntry(models.Model):
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="time_entries", verbose_name=_("ticket")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="time_entries",
        verbose_name=_("worked by"),
    )
    worked_on = models.DateField(_("worked on"))
    minutes = models.PositiveIntegerField(
        _("minutes"),
        validators=[MinValueValidator(MINUTES_MIN), MaxValueValidator(MINUTES_MAX)],
    )
    description = models.TextField(_("description"))
    category = models.CharField(_("category"), max_length=40, choices=Category.choices)
    # derived from the category on every save (is_billable)
    billable = models.BooleanField(_("billable"), editable=False)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    updated_at = models.DateTimeField(_("updated at"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )

    objects = TimeEntryManager()

    class Meta:
        ordering = ["-worked_on", "-pk"]
        verbose_name = _("time entry")
        verbose_name_plural = _("time entries")
        indexes = [models.Index(fields=["ticket", "worked_on"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(minutes__gte=MINUTES_MIN, minutes__lte=MINUTES_MAX),
                name="time_entry_minutes_in_range",
            )
        ]

    def __str__(self):
        return f"{self.minutes} min {self.ticket_id}"

    def save(self, *args, **kwargs):
        self.billable = is_billable(self.category)
        super().save(*args, **kwargs)


class YearRate(models.Model):
    """The provider's rates of one calendar year (seed 004: hours are billed at the year's hourly
    rate; bundles are bought, and recalculated after 12 months, at the year's bundle rate).
    Kept by the admin; amounts are exact decimals in euros, excluding VAT."""

    year = models.PositiveSmallIntegerField(
        _("year"), unique=True, validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    hourly_rate = models.DecimalField(
        _("hourly rate (EUR)"),
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_("Billable hours outside a bundle, per hour, excluding VAT."),
    )
    bundle_rate = models.DecimalField(
        _("bundle hourly rate (EUR)"),
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_("The hourly rate of prepaid hour bundles bought this year, excluding VAT."),
    )
    vat_rate = models.DecimalField(
        _("VAT rate (%)"),
        max_digits=5,
        decimal_places=2,
        default=21,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )

    class Meta:
        ordering = ["-year"]
        verbose_name = _("rates of a year")
        verbose_name_plural = _("rates per year")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hourly_rate__gte=0, bundle_rate__gte=0, vat_rate__gte=0)
                & models.Q(vat_rate__lte=100),
                name="year_rate_amounts_valid",
            )
        ]

    def __str__(self):
        return str(self.year)

    @classmethod
    def for_year(cls, year: int) -> "YearRate | None":
        """The rates of `year`, else those of the latest earlier year (rates hold until the
        admin enters new ones); None when no rate is known yet."""
        return cls.objects.filter(year__lte=year).order_by("-year").first()


OrganizationManager = ScopedManager(organization="organization").__class__


class ClosedMonth(models.Model):
    """A calendar month a provider manager closed for one organisation (issue 18 item 4): the
    time entries worked in it (the Europe/Amsterdam month of `worked_on`) are frozen and its
    overview is final. A reclassification afterwards becomes a `Correction` in the next open
    month."""

    organization = models.ForeignKey(
        "pim.Organization",
        on_delete=models.CASCADE,
        related_name="closed_months",
        verbose_name=_("organisation"),
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    closed_at = models.DateTimeField(_("closed at"))
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )

    objects = OrganizationManager()

    class Meta:
        ordering = ["-month", "organization"]
        verbose_name = _("closed month")
        verbose_name_plural = _("closed months")
        constraints = [
            models.UniqueConstraint(fields=["organization", "month"], name="one_close_per_month")
        ]

    def __str__(self):
        return f"{self.organization_id} {self.month:%Y-%m}"


class Correction(models.Model):
    """A reclassification of time worked in a closed month: the frozen entry stays as it was
    billed, and this line in the next open month moves its minutes from one category to the
    other. `billable_minutes` is the change in billable time (positive: billed now, negative:
    credited), priced at the hourly rate of the year the work was done."""

    organization = models.ForeignKey(
        "pim.Organization",
        on_delete=models.CASCADE,
        related_name="billing_corrections",
        verbose_name=_("organisation"),
    )
    month = models.DateField(_("month"), help_text=_("The open month the correction is in."))
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        related_name="billing_corrections",
        verbose_name=_("ticket"),
    )
    entry = models.ForeignKey(
        TimeEntry,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("time entry"),
    )
    worked_on = models.DateField(_("worked on"))
    minutes = models.PositiveIntegerField(_("minutes"))
    from_category = models.CharField(_("from category"), max_length=40, choices=Category.choices)
    to_category = models.CharField(_("to category"), max_length=40, choices=Category.choices)
    billable_minutes = models.IntegerField(_("change in billable minutes"))
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    objects = OrganizationManager()

    class Meta:
        ordering = ["month", "pk"]
        verbose_name = _("billing correction")
        verbose_name_plural = _("billing corrections")
        indexes = [models.Index(fields=["organization", "month"])]

    def __str__(self):
        return f"{self.organization_id} {self.month:%Y-%m} {self.billable_minutes:+d} min"
