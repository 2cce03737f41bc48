"""Read paths shared by the pages and the API."""

import re
from functools import reduce
from operator import or_

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Case, Exists, F, OuterRef, Prefetch, Q, Value, When
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from pim.models import Location
from pim.permissions import is_provider_staff
from pim.scoping import organization_filter, visible_organizations

from .models import KIND_PREFIX, Attachment, Ticket, TicketUpdate, Visibility

# What a list row shows besides the ticket.
ROW_RELATIONS = ("organization", "service", "location", "reporter", "assignee")


def ticket_list(user):
    """Tickets `user` may see, with what a list row shows, in a constant number of queries
    (without the search documents: lists never show them)."""
    return (
        Ticket.objects.visible_to(user)
        .select_related(*ROW_RELATIONS)
        .defer("search_document", "search_internal")
    )


def for_page(queryset):
    """A list page's rows (a page of 25): the related rows read by primary key after the page's
    tickets instead of joined to them. PostgreSQL spends ~8 ms planning the join of five tables
    over the ticket table's many indexes, for a query it then runs in under 1 ms; five lookups
    by primary key take less than the planning (bench/agent_queue.py, 1,000,000 tickets)."""
    return queryset.select_related(None).prefetch_related(*ROW_RELATIONS)


def for_api_page(queryset):
    """The API list's rows: its representation names the organisation, service, location and
    assignee by id (the ticket's own columns) and the reporter by username, so the page reads
    its reporters in one lookup instead of the five-table join whose planning (~9 ms at
    1,000,000 tickets) cost more than the whole query (see `for_page`)."""
    return queryset.select_related(None).prefetch_related("reporter")


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


# --- search ---------------------------------------------------------------------------------
#
# One search for the API's `?search=`, the portal lists and the search page. A term is words
# (at most SEARCH_WORDS); a ticket matches when every word is found in its title, description,
# public updates (and, for provider staff, internal notes), its reporter's name, username or
# e-mail address, its organisation's or its location's name; or when the whole term is its
# number, with or without prefix and year ("41", "00041", "2025-00041", "INC-41" find
# INC-2025-00041). On PostgreSQL a word matches the beginning of a word in the ticket's search
# documents (tsvectors kept by triggers, GIN-indexed, migration 0009); elsewhere it is a plain
# case-insensitive `icontains`. Organisation and location names come from their own small
# tables first (one query each, within the user's scope), so the ticket query stays on indexes.

SEARCH_WORDS = 8
NAME_MATCHES = 200  # organisations or locations a search considers
SEARCH_CONFIG = "simple"  # no stemming, no stop words: Dutch, English, host names, codes
NUMBER_TERM = re.compile(r"^(?:(?P<prefix>[A-Za-z]{3})-?)?(?:(?P<year>\d{4})-)?(?P<seq>\d{1,9})$")
PREFIXES = frozenset(KIND_PREFIX.values())


def search_words(term):
    return term.split()[:SEARCH_WORDS]


def is_ticket_number(term):
    """A term only a ticket number can mean: with its prefix or its year ("INC-41",
    "2025-00041"); a bare "41" may also be a word."""
    match = NUMBER_TERM.match(term.strip())
    return bool(match and (match["year"] or (match["prefix"] or "").upper() in PREFIXES))


def number_filter(term):
    """Tickets whose number is `term`, or ends with it as a sequence number (zeros optional)."""
    term = term.strip()
    exact = Q(number__iexact=term)
    match = NUMBER_TERM.match(term)
    if not match:
        return exact
    prefix, year, seq = match["prefix"], match["year"], int(match["seq"])
    if prefix and prefix.upper() not in PREFIXES:
        return exact
    if prefix and year:  # the whole number: the unique index
        return Q(number=f"{prefix.upper()}-{year}-{seq:05d}")
    suffix = f"-{year}-{seq:05d}" if year else f"-{seq:05d}"
    q = Q(number__endswith=suffix)
    if prefix:
        q &= Q(number__startswith=f"{prefix.upper()}-")
    return exact | q


def _is_postgresql(queryset):
    return connections[queryset.db].vendor == "postgresql"


def _tsquery(words):
    """Every word as a prefix, quoted whole so PostgreSQL's parser splits it as it split the
    documents (an e-mail address stays one token, "printer-storing" three); no operator a user
    types means anything. A word without letters or digits matches nothing."""
    quoted = (
        "'" + w.replace("\0", "").replace("\\", "\\\\").replace("'", "''") + "':*" for w in words
    )
    return SearchQuery(" & ".join(quoted), search_type="raw", config=SEARCH_CONFIG)


def _named(queryset, words):
    """{word: ids} of the rows of `queryset` whose name contains the word."""
    rows = list(
        queryset.filter(reduce(or_, (Q(name__icontains=w) for w in words)))
        .order_by("pk")
        .values_list("pk", "name")[:NAME_MATCHES]
    )
    return {w: [pk for pk, name in rows if w.casefold() in name.casefold()] for w in words}


def _text_filter(word, staff, postgresql):
    """`word` in the ticket's own text, its updates or its reporter."""
    if postgresql:
        query = _tsquery([word])
        q = Q(search_document=query)
        return q | Q(search_internal=query) if staff else q
    updates = TicketUpdate.objects.filter(ticket=OuterRef("pk")).filter(
        Q(body__icontains=word) | Q(next_actions__icontains=word)
    )
    if not staff:
        updates = updates.filter(visibility=Visibility.PUBLIC)
    return (
        Q(title__icontains=word)
        | Q(description__icontains=word)
        | Q(reporter__first_name__icontains=word)
        | Q(reporter__last_name__icontains=word)
        | Q(reporter__username__icontains=word)
        | Q(reporter__email__icontains=word)
        | Q(Exists(updates))
    )


def search_filter(term, user, using=DEFAULT_DB_ALIAS):
    """The tickets `term` finds for `user` (see above) as a Q; an empty term finds all."""
    term = (term or "").strip()
    words = search_words(term)
    if not words:
        return Q()
    if is_ticket_number(term):
        return number_filter(term)
    staff = user is not None and is_provider_staff(user)
    postgresql = connections[using].vendor == "postgresql"
    organizations = _named(visible_organizations(user), words) if user else {}
    locations = _named(Location.objects.filter(organization_filter(user)), words) if user else {}
    every_word = Q()
    for word in words:
        q = _text_filter(word, staff, postgresql)
        if organizations.get(word):
            q |= Q(organization_id__in=organizations[word])
        if locations.get(word):
            q |= Q(location_id__in=locations[word])
        every_word &= q
    return every_word | number_filter(term)


def search_tickets(queryset, term, user):
    """`queryset` narrowed to the tickets `term` finds for `user`; no ordering."""
    return queryset.filter(search_filter(term, user, queryset.db))


RANK_WINDOW = 1000  # on PostgreSQL the search page ranks the newest this many matches


def rank_tickets(queryset, term, user):
    """Search results best first: a number match, then (PostgreSQL) the text rank of all
    words (title above description above updates above reporter), then the newest.

    On PostgreSQL the rank is computed for the newest RANK_WINDOW matches only (a word found in
    half a million tickets would otherwise rank every one of them): a precise search ranks all
    it finds; a broad one ranks its newest thousand, as far as the page numbers reach."""
    term = (term or "").strip()
    rank = Case(When(number_filter(term), then=Value(1.0)), default=Value(0.0))
    words = search_words(term)
    if words and _is_postgresql(queryset) and not is_ticket_number(term):
        query = _tsquery(words)
        rank = rank + Coalesce(SearchRank(F("search_document"), query), Value(0.0))
        if user is not None and is_provider_staff(user):
            rank = rank + Coalesce(SearchRank(F("search_internal"), query), Value(0.0))
        newest = queryset.order_by("-reported_at", "-pk").values("pk")[:RANK_WINDOW]
        queryset = queryset.filter(pk__in=newest)
    return queryset.annotate(search_rank=rank).order_by("-search_rank", "-reported_at", "-pk")
