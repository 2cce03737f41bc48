from django.urls import path

from . import views

urlpatterns = [
    path("changes/new/", views.change_create, name="change-create"),
    path("tickets/<str:number>/change/", views.ticket_change, name="ticket-change"),
]
