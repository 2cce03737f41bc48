"""Helpers shared by the ticket pages: htmx detection, filter forms, pagination."""

from pim.pagination import BoundedPaginator

PAGE_SIZE = 25


def is_htmx(request):
    """An htmx request for a fragment (not a history restore, which wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Request-Type", "partial") != "full"
    )


def filter_data(form):
    """The valid part of a bound filter form; invalid values are ignored (and shown)."""
    if not form.is_bound:
        return {}
    form.is_valid()
    return form.cleaned_data


def page_of(request, queryset):
    """Numbered pages over the first rows, with a bounded count (cheap at a million rows)."""
    paginator = BoundedPaginator(queryset, PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))
