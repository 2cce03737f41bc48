from django.urls import path

from . import views

urlpatterns = [
    path("intake/", views.triage, name="intake-triage"),
    path("intake/<int:pk>/ticket/", views.triage_create_ticket, name="intake-create-ticket"),
    path("intake/<int:pk>/discard/", views.triage_discard, name="intake-discard"),
]
