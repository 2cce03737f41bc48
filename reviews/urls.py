from django.urls import path

from . import views

urlpatterns = [
    path("tickets/<str:number>/review/", views.ticket_review, name="ticket-review"),
    path(
        "tickets/<str:number>/review/actions/",
        views.ticket_review_action,
        name="ticket-review-action",
    ),
    path(
        "tickets/<str:number>/review/actions/done/",
        views.ticket_review_action_done,
        name="ticket-review-action-done",
    ),
]
