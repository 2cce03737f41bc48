"""Server-rendered pages: the customer portal, the ticket page and the agent workspace.

Every read goes through tickets.queries (Ticket.objects.visible_to), every write through
tickets.services. Objects outside the user's scope answer 404. Writes are POST-only.
"""

from .actions import (
    ticket_assign,
    ticket_attach,
    ticket_confirm,
    ticket_not_resolved,
    ticket_priority,
    ticket_take,
    ticket_transition,
    ticket_update,
    ticket_workaround,
)
from .detail import (
    attachment_download,
    render_ticket_detail,
    ticket_action,
    ticket_detail,
    ticket_presence,
)
from .exports import (
    export_detail,
    export_download,
    export_list,
    queue_export,
    search_export,
    ticket_list_export,
)
from .participation import (
    ticket_link_add,
    ticket_link_remove,
    ticket_rating,
    ticket_watcher_add,
    ticket_watcher_remove,
    ticket_withdraw,
)
from .portal import question_create, ticket_create, ticket_list
from .queue import queue, queue_bulk, queue_columns, queue_view_delete, queue_view_save
from .search import search

__all__ = [
    "export_detail",
    "export_download",
    "export_list",
    "queue_export",
    "search_export",
    "ticket_list_export",
    "attachment_download",
    "question_create",
    "queue",
    "queue_bulk",
    "queue_columns",
    "queue_view_delete",
    "queue_view_save",
    "render_ticket_detail",
    "search",
    "ticket_action",
    "ticket_assign",
    "ticket_attach",
    "ticket_confirm",
    "ticket_create",
    "ticket_detail",
    "ticket_link_add",
    "ticket_link_remove",
    "ticket_list",
    "ticket_not_resolved",
    "ticket_presence",
    "ticket_priority",
    "ticket_rating",
    "ticket_take",
    "ticket_transition",
    "ticket_workaround",
    "ticket_update",
    "ticket_watcher_add",
    "ticket_watcher_remove",
    "ticket_withdraw",
]
