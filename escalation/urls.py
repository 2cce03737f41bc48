from django.urls import path

from . import views

urlpatterns = [
    path("tickets/<str:number>/escalate/", views.ticket_escalate, name="ticket-escalate"),
    path("escalations/", views.escalation_list, name="escalation-list"),
    path(
        "escalations/acknowledge/",
        views.escalation_acknowledge,
        name="escalation-acknowledge",
    ),
    path("escalations/ack/<str:token>/", views.escalation_ack_link, name="escalation-ack-link"),
    path("notifications/", views.notification_list, name="notification-list"),
    path(
        "account/notifications/",
        views.notification_preferences,
        name="notification-preferences",
    ),
    path("webhooks/", views.webhook_list, name="webhook-list"),
    path("webhooks/<int:pk>/<slug:what>/", views.webhook_action, name="webhook-action"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("notifications/<int:pk>/", views.notification_open, name="notification-open"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification-read"),
]
