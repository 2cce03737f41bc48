from django.urls import path

from . import views

urlpatterns = [
    path("tickets/<str:number>/time/", views.ticket_time, name="ticket-time"),
    path("billing/", views.billing_page, name="billing"),
    path(
        "billing/accounting/<str:month>/",
        views.accounting_csv,
        name="billing-accounting-csv",
    ),
    path(
        "billing/<int:organization>/<str:month>/overview.csv",
        views.overview_csv,
        name="billing-overview-csv",
    ),
    path(
        "billing/<int:organization>/<str:month>/overview.pdf",
        views.overview_pdf,
        name="billing-overview-pdf",
    ),
    path(
        "billing/<int:organization>/<str:month>/close/",
        views.close_month,
        name="billing-close",
    ),
    path("billing/bundles/", views.bundle_statement, name="billing-bundles"),
    path("billing/bundles/threshold/", views.bundle_threshold, name="billing-bundle-threshold"),
]
