"""Search everywhere: the header's search box lands here, for customers and staff alike."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from pim import inputs
from pim.pagination import BoundedPaginator, bounded_count

from .. import extensions, queries
from .common import PAGE_SIZE, filter_data


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search tickets"), required=False, max_length=inputs.SEARCH_MAX)


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
    form = SearchForm(request.GET or None)
    term = (filter_data(form).get("q") or "").strip()
    page = None
    if term:
        found = queries.search_tickets(queries.ticket_list(request.user), term, request.user)
        ranked = queries.rank_tickets(found, term, request.user)
        rows = extensions.clock_read().list_rows(ranked)
        page = SearchPaginator(rows, found).get_page(request.GET.get("page"))
    return render(
        request,
        "tickets/search.html",
        {"form": form, "term": term, "page": page, "now": timezone.now()},
        status=400 if form.errors else 200,
    )
