"""Read paths shared by the pages and the API."""

from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404

from .models import Attachment, Ticket, TicketUpdate, Visibility


def ticket_list(user):
    """Tickets `user` may see, with what a list row shows, in a constant number of queries."""
    return Ticket.objects.visible_to(user).select_related(
        "organization", "service", "location", "reporter", "assignee"
    )


def updates_for(ticket, user):
    qs = TicketUpdate.objects.filter(ticket=ticket).select_related("author")
    if not user.is_provider_staff:
        qs = qs.filter(visibility=Visibility.PUBLIC)
    return qs


def attachments_for(ticket, user):
    qs = Attachment.objects.filter(ticket=ticket).select_related("uploaded_by")
    if not user.is_provider_staff:
        qs = qs.filter(internal=False).filter(
            Q(update__isnull=True) | Q(update__visibility="public")
        )
    return qs


def ticket_detail(user):
    return ticket_list(user).prefetch_related(
        Prefetch("priority_changes"),
    )


def get_ticket_for(user, number: str) -> Ticket:
    """The one lookup for ticket pages: a ticket `user` may see, else 404."""
    return get_object_or_404(ticket_detail(user), number=number)


def search_filter(term):
    term = term.strip()
    return Q(number__iexact=term) | Q(title__icontains=term) | Q(description__icontains=term)
