from django.urls import path

from . import views

urlpatterns = [
    path("sla/", views.compliance_page, name="sla-compliance"),
]
