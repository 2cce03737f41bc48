"""Helpers shared by the ticket pages: htmx detection, pagination."""

from pim.pagination import BoundedPaginator

PAGE_SIZE = 25


def is_htmx(request):
    """An htmx request for a fragment (not a history restore, which wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Request-Type", "partial") != "full"
    )


def page_of(request, queryset):
    """Numbered pages over the first rows, with a bounded count (cheap at a million rows)."""
    paginator = BoundedPaginator(queryset, PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))
