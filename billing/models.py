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


# --- prepaid hour bundles ("strippenkaart", seed 004; billing/bundles.py) --------------------

BUNDLE_MIN_HOURS = 50
BUNDLE_MAX_HOURS = 100_000


class Bundle(models.Model):
    """Hours an organisation bought in advance at the bundle rate of the purchase year. No
    expiry; `minutes` is what the bundle holds: its hours, changed once by the recalculation 12
    months after purchase (bundles bought from 2024 on). Draws take minutes from it."""

    organization = models.ForeignKey(
        "pim.Organization",
        on_delete=models.PROTECT,
        related_name="hour_bundles",
        verbose_name=_("organisation"),
    )
    hours = models.PositiveIntegerField(
        _("hours bought"),
        validators=[MinValueValidator(BUNDLE_MIN_HOURS), MaxValueValidator(BUNDLE_MAX_HOURS)],
    )
    purchased_on = models.DateField(_("purchased on"))
    rate = models.DecimalField(
        _("bundle hourly rate (EUR)"),
        max_digits=8,
        decimal_places=2,
        help_text=_("The bundle rate of the purchase year, copied at purchase."),
    )
    minutes = models.PositiveIntegerField(_("minutes in the bundle"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("registered by"),
    )

    objects = ScopedManager(organization="organization")

    class Meta:
        ordering = ["purchased_on", "pk"]
        verbose_name = _("hour bundle")
        verbose_name_plural = _("hour bundles")
        indexes = [models.Index(fields=["organization", "purchased_on"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hours__gte=BUNDLE_MIN_HOURS), name="bundle_at_least_50_hours"
            )
        ]

    def __str__(self):
        return f"{self.hours} h {self.purchased_on:%Y-%m-%d}"


class Draw(models.Model):
    """Minutes of one billable time entry written off one bundle (an entry may be split over
    two bundles when the oldest runs out)."""

    bundle = models.ForeignKey(
        Bundle, on_delete=models.PROTECT, related_name="draws", verbose_name=_("bundle")
    )
    entry = models.ForeignKey(
        TimeEntry, on_delete=models.CASCADE, related_name="draws", verbose_name=_("time entry")
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="+", verbose_name=_("ticket")
    )
    organization = models.ForeignKey("pim.Organization", on_delete=models.CASCADE, related_name="+")
    worked_on = models.DateField(_("worked on"))
    minutes = models.PositiveIntegerField(_("minutes"))
    created_at = models.DateTimeField(_("created at"))

    objects = ScopedManager(organization="organization")

    class Meta:
        ordering = ["worked_on", "pk"]
        verbose_name = _("bundle draw")
        verbose_name_plural = _("bundle draws")
        indexes = [models.Index(fields=["organization", "worked_on"])]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "entry"], name="one_draw_per_bundle_entry"),
            models.CheckConstraint(condition=models.Q(minutes__gte=1), name="draw_minutes_pos"),
        ]

    def __str__(self):
        return f"{self.minutes} min of bundle {self.bundle_id}"


class RecalculationOutcome(models.TextChoices):
    RECALCULATED = "recalculated", _("Recalculated at the new bundle rate")
    MOSTLY_USED = "mostly_used", _("Not recalculated: more than 90 percent used")


class Recalculation(models.Model):
    """The once-only look at a bundle 12 months after its purchase (bundles of 2024 on): the
    remaining minutes at the rate then in force, keeping their value, or nothing when more than
    90 % was used by then."""

    bundle = models.OneToOneField(
        Bundle, on_delete=models.CASCADE, related_name="recalculation", verbose_name=_("bundle")
    )
    due_on = models.DateField(_("due on"))
    done_at = models.DateTimeField(_("done at"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=RecalculationOutcome.choices)
    used_minutes = models.PositiveIntegerField(_("minutes used by then"))
    remaining_before = models.PositiveIntegerField(_("remaining minutes before"))
    remaining_after = models.PositiveIntegerField(_("remaining minutes after"))
    old_rate = models.DecimalField(_("old rate (EUR)"), max_digits=8, decimal_places=2)
    new_rate = models.DecimalField(
        _("new rate (EUR)"), max_digits=8, decimal_places=2, null=True, blank=True
    )

    objects = ScopedManager(organization="bundle__organization")

    class Meta:
        verbose_name = _("bundle recalculation")
        verbose_name_plural = _("bundle recalculations")

    def __str__(self):
        return f"{self.bundle_id} {self.outcome}"

    @property
    def adjustment(self) -> int:
        return self.remaining_after - self.remaining_before


class BundleAlert(models.Model):
    """The low-balance threshold an authorised contact chose for the organisation, and whether
    the contacts were told that the balance fell below it (told once per crossing; again only
    after a purchase or recalculation brought the balance back up)."""

    organization = models.OneToOneField(
        "pim.Organization",
        on_delete=models.CASCADE,
        related_name="bundle_alert",
        verbose_name=_("organisation"),
    )
    threshold_hours = models.PositiveIntegerField(
        _("low-balance threshold (hours)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(BUNDLE_MAX_HOURS)],
    )
    below_notified = models.BooleanField(_("told that the balance is below it"), default=False)
    crossings = models.PositiveIntegerField(_("times told"), default=0)
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ScopedManager(organization="organization")

    class Meta:
        verbose_name = _("low-balance threshold")
        verbose_name_plural = _("low-balance thresholds")

    def __str__(self):
        return f"{self.organization_id}: {self.threshold_hours}"
