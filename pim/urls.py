from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from billing.api import (
    BillingCloseView,
    BillingOverviewView,
    TicketReclassifyTimeView,
    TimeEntryViewSet,
)
from billing.bundles_api import BundleViewSet
from changes.api import TicketChangeView
from escalation.api import (
    EscalationViewSet,
    NotificationPreferenceView,
    NotificationViewSet,
    TicketEscalateView,
    WebhookEndpointViewSet,
)
from maintenance.api import MaintenanceNoticeViewSet, SubscriptionViewSet
from problems.api import KnownErrorViewSet, ProblemViewSet
from reviews.api import TicketReviewView
from sla.api import (
    AvailabilityView,
    ComplianceView,
    MonthlyReportListView,
    SlaDocumentViewSet,
    TicketNoAccessView,
    TicketOutageView,
    TicketSlaNotApplicableView,
)
from tickets.api import SatisfactionViewSet, TicketViewSet

from . import views
from .api_directory import (
    LocationViewSet,
    MembershipViewSet,
    OrganizationViewSet,
    ServiceViewSet,
)
from .api_tokens import ApiTokenViewSet, ObtainTokenView
from .schema import SchemaView
from .security import twofactor_views
from .security import views as security_views

handler400 = "pim.views.bad_request"
handler404 = "pim.views.page_not_found"

router = DefaultRouter()
router.register("tickets", TicketViewSet, basename="api-ticket")
router.register("tokens", ApiTokenViewSet, basename="api-token-mine")
router.register("satisfaction", SatisfactionViewSet, basename="api-satisfaction")
router.register("organizations", OrganizationViewSet, basename="api-organization")
router.register("services", ServiceViewSet, basename="api-service")
router.register("locations", LocationViewSet, basename="api-location")
router.register("memberships", MembershipViewSet, basename="api-membership")
router.register("notifications", NotificationViewSet, basename="api-notification")
router.register("escalations", EscalationViewSet, basename="api-escalation")
router.register("webhooks", WebhookEndpointViewSet, basename="api-webhook")
router.register(
    "maintenance/subscriptions", SubscriptionViewSet, basename="api-maintenance-subscription"
)
router.register("sla-documents", SlaDocumentViewSet, basename="api-sla-document")
router.register("maintenance", MaintenanceNoticeViewSet, basename="api-maintenance")
router.register("problems", ProblemViewSet, basename="api-problem")
router.register("known-errors", KnownErrorViewSet, basename="api-known-error")
router.register("time-entries", TimeEntryViewSet, basename="api-time-entry")
router.register("bundles", BundleViewSet, basename="api-bundle")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("language/", views.set_language, name="set-language"),
    path("accounts/login/", security_views.LoginView.as_view(), name="login"),
    path(
        "accounts/password_reset/",
        security_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    # One login page (with the brute-force limits and the second step) for the admin too.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("account/tokens/", views.tokens, name="account-tokens"),
    path("account/two-factor/", twofactor_views.manage, name="two-factor"),
    path("account/two-factor/verify/", twofactor_views.verify, name="two-factor-verify"),
    path("account/two-factor/setup/", twofactor_views.setup, name="two-factor-setup"),
    path(
        "api/v1/tickets/<int:pk>/escalate/",
        TicketEscalateView.as_view(),
        name="api-ticket-escalate",
    ),
    path(
        "api/v1/tickets/<int:pk>/change/",
        TicketChangeView.as_view(),
        name="api-ticket-change",
    ),
    path(
        "api/v1/tickets/<int:pk>/review/",
        TicketReviewView.as_view(),
        name="api-ticket-review",
    ),
    path(
        "api/v1/tickets/<int:pk>/no-access/",
        TicketNoAccessView.as_view(),
        name="api-ticket-no-access",
    ),
    path(
        "api/v1/tickets/<int:pk>/sla-not-applicable/",
        TicketSlaNotApplicableView.as_view(),
        name="api-ticket-sla-not-applicable",
    ),
    path(
        "api/v1/tickets/<int:pk>/outage/",
        TicketOutageView.as_view(),
        name="api-ticket-outage",
    ),
    path(
        "api/v1/account/notification-preferences/",
        NotificationPreferenceView.as_view(),
        name="api-notification-preferences",
    ),
    path(
        "api/v1/tickets/<int:pk>/reclassify-time/",
        TicketReclassifyTimeView.as_view(),
        name="api-ticket-reclassify-time",
    ),
    path(
        "api/v1/billing/<int:organization>/<str:month>/",
        BillingOverviewView.as_view(),
        name="api-billing-overview",
    ),
    path(
        "api/v1/billing/<int:organization>/<str:month>/close/",
        BillingCloseView.as_view(),
        name="api-billing-close",
    ),
    path("api/v1/sla/compliance/", ComplianceView.as_view(), name="api-sla-compliance"),
    path("api/v1/availability/", AvailabilityView.as_view(), name="api-availability"),
    path("api/v1/sla/reports/", MonthlyReportListView.as_view(), name="api-sla-reports"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script from a URL: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("tickets.urls")),
    path("", include("intake.urls")),
    path("", include("sla.urls")),
    path("", include("escalation.urls")),
    path("", include("changes.urls")),
    path("", include("reviews.urls")),
    path("", include("maintenance.urls")),
    path("", include("problems.urls")),
    path("", include("billing.urls")),
]
