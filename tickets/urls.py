from django.urls import path

from . import views

urlpatterns = [
    path("tickets/", views.ticket_list, name="ticket-list"),
    path("tickets/new/", views.ticket_create, name="ticket-create"),
    path("tickets/new/question/", views.question_create, name="question-create"),
    path("tickets/<str:number>/", views.ticket_detail, name="ticket-detail"),
    path("tickets/<str:number>/update/", views.ticket_update, name="ticket-update"),
    path("tickets/<str:number>/attach/", views.ticket_attach, name="ticket-attach"),
    path("tickets/<str:number>/take/", views.ticket_take, name="ticket-take"),
    path("tickets/<str:number>/assign/", views.ticket_assign, name="ticket-assign"),
    path("tickets/<str:number>/priority/", views.ticket_priority, name="ticket-priority"),
    path("tickets/<str:number>/transition/", views.ticket_transition, name="ticket-transition"),
    path("tickets/<str:number>/workaround/", views.ticket_workaround, name="ticket-workaround"),
    path("tickets/<str:number>/confirm/", views.ticket_confirm, name="ticket-confirm"),
    path(
        "tickets/<str:number>/not-resolved/",
        views.ticket_not_resolved,
        name="ticket-not-resolved",
    ),
    path("tickets/<str:number>/watchers/", views.ticket_watcher_add, name="ticket-watcher-add"),
    path(
        "tickets/<str:number>/watchers/remove/",
        views.ticket_watcher_remove,
        name="ticket-watcher-remove",
    ),
    path("tickets/<str:number>/links/", views.ticket_link_add, name="ticket-link-add"),
    path("tickets/<str:number>/links/remove/", views.ticket_link_remove, name="ticket-link-remove"),
    path("tickets/<str:number>/withdraw/", views.ticket_withdraw, name="ticket-withdraw"),
    path("tickets/<str:number>/rating/", views.ticket_rating, name="ticket-rating"),
    path("tickets/<str:number>/presence/", views.ticket_presence, name="ticket-presence"),
    path("queue/", views.queue, name="queue"),
    path("queue/views/", views.queue_view_save, name="queue-view-save"),
    path("queue/views/delete/", views.queue_view_delete, name="queue-view-delete"),
    path("queue/columns/", views.queue_columns, name="queue-columns"),
    path("queue/bulk/", views.queue_bulk, name="queue-bulk"),
    path("search/", views.search, name="search"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment-download"),
]
