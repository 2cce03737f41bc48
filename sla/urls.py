from django.urls import path

from . import dashboard_views, views

urlpatterns = [
    path("dashboard/", dashboard_views.dashboard_page, name="dashboard"),
    path("dashboard/wallboard/", dashboard_views.wallboard_page, name="dashboard-wallboard"),
    path("sla/", views.compliance_page, name="sla-compliance"),
    path("sla/availability/", views.availability_page, name="sla-availability"),
    path("sla/reports/", views.reports_page, name="sla-reports"),
    path("sla/reports/generate/", views.report_generate, name="sla-report-generate"),
    path(
        "sla/reports/<int:pk>/report.pdf",
        views.report_pdf,
        name="sla-report-pdf",
    ),
    path(
        "sla/reports/<int:pk>/report.csv",
        views.report_csv,
        name="sla-report-csv",
    ),
    path("sla/documents/", views.documents_page, name="sla-documents"),
    path(
        "sla/documents/change-request/",
        views.document_change_request,
        name="sla-document-change-request",
    ),
    path("sla/documents/<int:pk>/route/", views.document_route, name="sla-document-route"),
    path(
        "sla/documents/<int:pk>/download/",
        views.document_download,
        name="sla-document-download",
    ),
    path("tickets/<str:number>/no-access/", views.ticket_no_access, name="ticket-no-access"),
    path("tickets/<str:number>/outage/", views.ticket_outage, name="ticket-outage"),
    path(
        "tickets/<str:number>/sla-not-applicable/",
        views.ticket_sla_not_applicable,
        name="ticket-sla-na",
    ),
]
