"""Known errors that match a text (SPEC §4.2 "Matchen"): for the agent on a new incident's page,
for the API's `?search=` and for a customer typing a new incident's title.

On PostgreSQL: full-text search over title (weight A), symptoms (B) and workaround (C), in the
Dutch configuration (stemming: "storing" finds "storingen") and the simple one (host names,
codes, English words), any word matching, ranked. Elsewhere (SQLite): a known error matches when
one of the words is in its title, symptoms or workaround, ranked by how many words it has.
Only known errors not fixed yet are suggested; on an incident, those of the incident's service
(by service code, so the same service of another organisation counts) or of no service.
"""

import re
from functools import reduce
from operator import or_

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connections
from django.db.models import Q

from .models import KnownError

WORD = re.compile(r"\w{3,}")
MATCH_WORDS = 12
SUGGESTIONS = 5
CONFIGS = ("dutch", "simple")


def words_of(text):
    """The distinct words (3+ letters, no bare numbers) of `text`, at most MATCH_WORDS."""
    seen = []
    for word in WORD.findall((text or "").lower()):
        if word not in seen and not word.isdigit():
            seen.append(word)
    return seen[:MATCH_WORDS]


def _raw(words):
    """Any of the words, each as a prefix, quoted whole: nothing a user types is an operator."""
    return " | ".join(
        "'" + w.replace("\0", "").replace("\\", "\\\\").replace("'", "''") + "':*" for w in words
    )


def _vector(config):
    return (
        SearchVector("title", weight="A", config=config)
        + SearchVector("symptoms", weight="B", config=config)
        + SearchVector("workaround", weight="C", config=config)
    )


def match(queryset, text, limit=SUGGESTIONS):
    """The known errors of `queryset` that `text` matches, best first (a list)."""
    words = words_of(text)
    if not words:
        return []
    if connections[queryset.db].vendor == "postgresql":
        raw = _raw(words)
        ranked = None
        where = Q()
        for config in CONFIGS:
            query = SearchQuery(raw, search_type="raw", config=config)
            vector = _vector(config)
            rank = SearchRank(vector, query)
            ranked = rank if ranked is None else ranked + rank
            where |= Q(**{f"fts_{config}": query})
        qs = queryset.annotate(**{f"fts_{c}": _vector(c) for c in CONFIGS}).filter(where)
        return list(qs.annotate(match_rank=ranked).order_by("-match_rank", "-pk")[:limit])
    fields = ("title", "symptoms", "workaround")
    qs = queryset.filter(reduce(or_, (Q(**{f"{f}__icontains": w}) for w in words for f in fields)))
    found = list(qs.order_by("-pk")[:200])

    def score(ke):
        text = " ".join(getattr(ke, f) for f in fields).lower()
        return sum(1 for w in words if w in text)

    found.sort(key=lambda ke: -score(ke))
    return found[:limit]


def for_incident(incident, limit=SUGGESTIONS):
    """Known errors (not fixed yet) that match a new incident: its service's, by text."""
    qs = KnownError.objects.filter(fixed_at__isnull=True)
    if incident.service_id is not None:
        served = KnownError.services.through.objects
        same = served.filter(service__code=incident.service.code).values("knownerror_id")
        qs = qs.filter(Q(pk__in=same) | ~Q(pk__in=served.values("knownerror_id")))
    return match(qs, f"{incident.title} {incident.description}", limit)
