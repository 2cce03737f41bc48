from django.urls import path

from . import views

urlpatterns = [
    path("tickets/<str:number>/time/", views.ticket_time, name="ticket-time"),
]
