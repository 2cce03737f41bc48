from django.urls import path

from . import views

urlpatterns = [
    path("problems/", views.problem_list, name="problem-list"),
    path("problems/new/", views.problem_create, name="problem-create"),
    path("tickets/<str:number>/problem/", views.ticket_problem, name="ticket-problem"),
    path("known-errors/<int:pk>/follow/", views.known_error_follow, name="known-error-follow"),
]
