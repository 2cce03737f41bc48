from django.urls import path

from . import manager_views, views

urlpatterns = [
    path("problems/", views.problem_list, name="problem-list"),
    path("problems/new/", views.problem_create, name="problem-create"),
    path("problems/report/", manager_views.open_problem_report, name="problem-report"),
    path("problems/trends/", manager_views.incident_trends, name="problem-trends"),
    path(
        "problems/trends/raise/",
        manager_views.raise_from_trend,
        name="problem-raise-from-trend",
    ),
    path("tickets/<str:number>/problem/", views.ticket_problem, name="ticket-problem"),
    path("known-errors/<int:pk>/follow/", views.known_error_follow, name="known-error-follow"),
]
