"""Search everywhere: the header's search box lands here, for customers and staff alike."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.http import require_GET

from pim.pagination import BoundedPaginator, bounded_count

from .. import extensions, lists, queries
from .common import PAGE_SIZE
from .exports import export_query


class SearchPaginator(BoundedPaginator):
    """Pages over the ranked rows, counted over all matches (PostgreSQL ranks the newest
    thousand only: `queries.rank_tickets`)."""

    def __init__(self, rows, matches):
        super().__init__(rows, PAGE_SIZE)
        self.matches = matches

    @cached_property
    def _bounded(self):
        return bounded_count(self.matches)


@login_required
@require_GET
def search(request):
    """The tickets the term finds within the user's scope (`queries.search_tickets`, the same
    search as the lists and the API's `?search=`), best first: ranked on PostgreSQL."""
    found = lists.search_rows(request.user, request.GET, request)
    form, term = found.form, found.context["term"]
    page = None
    if term:
        rows = extensions.clock_read().list_rows(queries.for_page(found.rows))
        page = SearchPaginator(rows, found.context["found"]).get_page(request.GET.get("page"))
    return render(
        request,
        "tickets/search.html",
        {
            "form": form,
            "term": term,
            "page": page,
            "export_query": export_query(request.GET),
            "now": timezone.now(),
        },
        status=400 if form.errors else 200,
    )
