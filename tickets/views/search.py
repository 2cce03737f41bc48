"""Search everywhere: the header's search box lands here, for customers and staff alike."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from pim import inputs

from .. import extensions, queries
from .common import filter_data, page_of


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search tickets"), required=False, max_length=inputs.SEARCH_MAX)


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
        page = page_of(request, extensions.clock_read().list_rows(ranked))
    return render(
        request,
        "tickets/search.html",
        {"form": form, "term": term, "page": page, "now": timezone.now()},
        status=400 if form.errors else 200,
    )
