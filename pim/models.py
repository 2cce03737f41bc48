"""Tenancy: organisations (tenants), users and their membership role, services, locations."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CUSTOMER_USER = "customer_user", _("Customer user")
    AUTHORISED_CONTACT = "authorised_contact", _("Authorised contact")
    AGENT = "agent", _("Agent (Service & Support)")
    ONCALL = "oncall", _("On-call engineer")
    CSM = "csm", _("Customer Service Manager")
    OPS_MANAGER = "ops_manager", _("Teammanager Operations")
    OPS_DIRECTOR = "ops_director", _("Operationeel Directeur")
    COMMERCIAL_DIRECTOR = "commercial_director", _("Commercieel Directeur")
    GENERAL_DIRECTOR = "general_director", _("Algemeen Directeur")
    ADMIN = "admin", _("Administrator")


CUSTOMER_ROLES = frozenset({Role.CUSTOMER_USER, Role.AUTHORISED_CONTACT})
MANAGER_ROLES = frozenset(
    {
        Role.CSM,
        Role.OPS_MANAGER,
        Role.OPS_DIRECTOR,
        Role.COMMERCIAL_DIRECTOR,
        Role.GENERAL_DIRECTOR,
    }
)
# Provider staff who work tickets (triage, respond, update, resolve).
WORKER_ROLES = frozenset({Role.AGENT, Role.ONCALL, Role.ADMIN})
STAFF_ROLES = WORKER_ROLES | MANAGER_ROLES


class Organization(models.Model):
    """A customer organisation ("Klant"): the tenant."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self):
        return self.name


class User(AbstractUser):
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="nl"
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    @property
    def role(self):
        try:
            return self.membership.role
        except Membership.DoesNotExist:
            # A superuser made with createsuperuser has no membership: treat as admin.
            return Role.ADMIN if self.is_superuser else None

    @property
    def organization_id_or_none(self):
        try:
            return self.membership.organization_id
        except Membership.DoesNotExist:
            return None

    @property
    def is_authorised_contact(self):
        return self.role == Role.AUTHORISED_CONTACT

    @property
    def is_customer(self):
        return self.role in CUSTOMER_ROLES

    @property
    def is_provider_staff(self):
        return self.role in STAFF_ROLES

    @property
    def is_worker(self):
        return self.role in WORKER_ROLES


class Membership(models.Model):
    """A user's place: a role, and for customers the organisation they belong to."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="membership",
        verbose_name=_("user"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="memberships",
        null=True,
        blank=True,
        verbose_name=_("organisation"),
        help_text=_("Empty for provider staff."),
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.CheckConstraint(
                name="customer_roles_have_organization",
                condition=(
                    ~models.Q(role__in=sorted(r.value for r in CUSTOMER_ROLES))
                    | models.Q(organization__isnull=False)
                ),
            ),
            models.CheckConstraint(
                name="staff_roles_have_no_organization",
                condition=(
                    models.Q(role__in=sorted(r.value for r in CUSTOMER_ROLES))
                    | models.Q(organization__isnull=True)
                ),
            ),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"


class Service(models.Model):
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="services",
        verbose_name=_("organisation"),
    )
    name = models.CharField(_("name"), max_length=200)
    code = models.SlugField(_("code"), max_length=60)

    class Meta:
        ordering = ["name"]
        verbose_name = _("service")
        verbose_name_plural = _("services")
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="service_code_per_org")
        ]

    def __str__(self):
        return self.name


class Location(models.Model):
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="locations",
        verbose_name=_("organisation"),
    )
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("location")
        verbose_name_plural = _("locations")

    def __str__(self):
        return self.name


class ApiToken(models.Model):
    """A personal API token: shown once at creation, stored only as a SHA-256 digest.

    Tokens carry 256 bits of randomness, so a fast digest is enough to make a stolen database
    useless for authentication (no slow password hash needed)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self):
        return self.revoked_at is None


class IdempotencyKey(models.Model):
    """The first response to a POST carrying an `Idempotency-Key` header, replayed on retries."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # JSON as text: PostgreSQL's jsonb refuses "\u0000", which a hostile request can echo.
    response = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")
        ]

    def __str__(self):
        return f"{self.user_id}:{self.key}"
