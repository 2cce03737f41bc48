from django.urls import path

from . import views

urlpatterns = [
    path("maintenance/", views.notice_list, name="maintenance-list"),
    path("maintenance/month/", views.notice_month, name="maintenance-month"),
    path("maintenance/new/", views.notice_create, name="maintenance-create"),
    path("maintenance/<int:pk>/", views.notice_detail, name="maintenance-detail"),
    path("maintenance/<int:pk>/edit/", views.notice_edit, name="maintenance-edit"),
    path("maintenance/<int:pk>/status/", views.notice_status, name="maintenance-status"),
    path("maintenance/subscriptions/", views.subscriptions, name="maintenance-subscriptions"),
    path(
        "maintenance/subscriptions/<int:pk>/delete/",
        views.unsubscribe,
        name="maintenance-unsubscribe",
    ),
    path("maintenance/feed/", views.feed_settings, name="maintenance-feed-settings"),
    path("maintenance/feed/<str:token>.ics", views.feed, name="maintenance-feed"),
]
