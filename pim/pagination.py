"""API lists at any depth: validated ordering, keyset (cursor) pages and bounded counts.

- `StrictOrderingFilter`: `?ordering=` takes the view's `ordering_fields` (comma separated,
  `-` for descending); an unknown field answers 400 instead of being ignored. Fields in the
  view's `ordering_nulls_last` sort their NULLs last in both directions. The id is appended as
  the tiebreaker in the direction of the last field, so every ordering is a total order.
- `KeysetPagination` (DRF's CursorPagination, keyset instead of position + offset): the cursor
  holds the last row's values of every ordering key, the next page is `WHERE (keys) after
  (values)`, so a page costs the same at any depth and rows that tie on the ordering field are
  neither repeated nor skipped. `?page=N` keeps working for the first `COUNT_BOUND` rows.
- Counts are exact up to `COUNT_BOUND` (a `LIMIT`ed count), above it PostgreSQL's planner
  estimate (`count_exact: false`), or null on other databases: never a full count. The portal's
  lists (`BoundedPaginator`) keep page numbers over the first COUNT_BOUND rows.
"""

import base64
import binascii
import json
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import F, OrderBy, Q
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

COUNT_BOUND = 1000
TIEBREAKER = "id"


@dataclass(frozen=True)
class Key:
    """One ordering key: a model field, its direction, whether it holds NULLs and where they go
    (for a NOT NULL field the database's default order is left alone, so its index serves)."""

    name: str
    descending: bool = False
    nullable: bool = False
    nulls_last: bool = False

    def flipped(self):
        # the exact reverse order (a backward scan of the same index): NULLs swap ends too
        return Key(self.name, not self.descending, self.nullable, not self.nulls_last)

    def expression(self):
        field = F(self.name)
        if not self.nullable:
            return field.desc() if self.descending else field.asc()
        nulls = {"nulls_last": True} if self.nulls_last else {"nulls_first": True}
        return field.desc(**nulls) if self.descending else field.asc(**nulls)

    def equal(self, value):
        return Q(**{f"{self.name}__isnull": True}) if value is None else Q(**{self.name: value})

    def after(self, value):
        """Rows whose value of this key comes strictly after `value` in this key's order."""
        if value is None:  # NULLs at the end: nothing after; at the start: every non-NULL
            return Q(pk__in=[]) if self.nulls_last else Q(**{f"{self.name}__isnull": False})
        q = Q(**{f"{self.name}__{'lt' if self.descending else 'gt'}": value})
        if self.nullable and self.nulls_last:
            q |= Q(**{f"{self.name}__isnull": True})
        return q

    def at_or_after(self, value):
        """The redundant range bound that lets an index scan start at the cursor."""
        return Q(**{f"{self.name}__{'lte' if self.descending else 'gte'}": value})


def ordering_keys(model, terms, nulls_last=()):
    """`["-priority", "number"]` → keys, with the id tiebreaker in the last term's direction.
    Nullable fields sort their NULLs last if named in `nulls_last`, else first."""
    keys = []
    for term in terms:
        name = term.lstrip("-")
        nullable = model._meta.get_field(name).null
        keys.append(Key(name, term.startswith("-"), nullable, name in nulls_last))
    if not keys or keys[-1].name not in (TIEBREAKER, "pk"):
        keys.append(Key(TIEBREAKER, keys[-1].descending if keys else False))
    return keys


def keys_of(queryset, default=("-id",)):
    """The keys of a queryset's order (its order_by, else the model's ordering), with the id
    tiebreaker appended where missing."""
    model = queryset.model
    terms, nulls_last = [], set()
    for term in queryset.query.order_by or model._meta.ordering or default:
        if isinstance(term, str):
            terms.append(term)
        elif isinstance(term, OrderBy) and isinstance(term.expression, F):
            name = term.expression.name
            terms.append(f"-{name}" if term.descending else name)
            if term.nulls_last:
                nulls_last.add(name)
        else:
            raise TypeError(f"keyset pages cannot follow the order {term!r}")
    terms = [t.replace("pk", TIEBREAKER) if t.lstrip("-") == "pk" else t for t in terms]
    return ordering_keys(model, terms, nulls_last)


def keyset_after(keys, values):
    """Rows after the cursor `values` in the order of `keys`: the lexicographic comparison
    (k1 after v1) or (k1 = v1 and k2 after v2) or …, plus a range bound on the first key."""
    condition = Q(pk__in=[])
    prefix = Q()
    for key, value in zip(keys, values, strict=True):
        condition |= prefix & key.after(value)
        prefix &= key.equal(value)
    if values[0] is not None and not keys[0].nullable:
        condition &= keys[0].at_or_after(values[0])
    return condition


class StrictOrderingFilter(OrderingFilter):
    """`?ordering=` on the view's `ordering_fields` only (400 otherwise), NULLs last for the
    view's `ordering_nulls_last` fields, and the id as the final tiebreaker."""

    ordering_description = gettext_lazy(
        "Comma-separated fields to order by; prefix a field with - for descending. "
        "Ties are broken by the id in the same direction."
    )

    def get_ordering(self, request, queryset, view):
        params = request.query_params.get(self.ordering_param, "")
        terms = [t.strip() for t in params.split(",") if t.strip()]
        if not terms:
            return self.get_default_ordering(view)
        allowed = [name for name, _label in self.get_valid_fields(queryset, view, {})]
        unknown = [t for t in terms if t.lstrip("-") not in allowed]
        if unknown:
            raise ValidationError(
                {
                    self.ordering_param: [
                        _("Unknown ordering field: %(fields)s. Choose from: %(allowed)s.")
                        % {
                            "fields": ", ".join(unknown),
                            "allowed": ", ".join(allowed),
                        }
                    ]
                }
            )
        return terms

    def filter_queryset(self, request, queryset, view):
        terms = self.get_ordering(request, queryset, view)
        if not terms:
            return queryset  # the view's own order stands
        keys = ordering_keys(queryset.model, terms, getattr(view, "ordering_nulls_last", ()))
        return queryset.order_by(*(k.expression() for k in keys))

    def get_schema_operation_parameters(self, view):
        fields = [f for f in getattr(view, "ordering_fields", None) or [] if f != "__all__"]
        choices = [variant for f in fields for variant in (f, f"-{f}")]
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": f"{self.ordering_description} Fields: {', '.join(fields)}. "
                "An unknown field answers 400.",
                "schema": {"type": "string", "example": ",".join(choices[:1]) or None},
            }
        ]


class KeysetPagination(CursorPagination):
    """Keyset pages along the ordering `StrictOrderingFilter` applied (id as tiebreaker),
    `?page=N` for the first COUNT_BOUND rows, and a bounded `count`."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    page_query_param = "page"
    ordering = ("-id",)
    invalid_cursor_message = gettext_lazy("Invalid cursor: follow the next or previous link.")

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.model = queryset.model
        self.keys = keys_of(queryset, default=self.ordering)
        self.count, self.count_exact = bounded_count(queryset)
        page_number = request.query_params.get(self.page_query_param)
        self.cursor = self.decode_cursor(request)
        if self.cursor is None and page_number is not None:
            return self._page_by_number(queryset, page_number)
        self.page_number = None
        reverse, values = self.cursor or (False, None)
        keys = [k.flipped() for k in self.keys] if reverse else self.keys
        queryset = queryset.order_by(*(k.expression() for k in keys))
        if values is not None:
            queryset = queryset.filter(keyset_after(keys, values))
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if reverse:
            rows.reverse()
            self.has_next, self.has_previous = values is not None, more
        else:
            self.has_next, self.has_previous = more, values is not None
        self.page = rows
        return rows

    def _page_by_number(self, queryset, raw):
        last_page = max(1, COUNT_BOUND // self.page_size)
        if not raw.isdigit() or not 1 <= int(raw) <= last_page:
            raise ValidationError(
                {
                    self.page_query_param: [
                        _(
                            "Page numbers go from 1 to %(last)s; follow the next link (a "
                            "cursor) for deeper pages."
                        )
                        % {"last": last_page}
                    ]
                }
            )
        self.page_number = int(raw)
        start = (self.page_number - 1) * self.page_size
        rows = list(queryset.order_by(*(k.expression() for k in self.keys))[
            start : start + self.page_size + 1
        ])  # fmt: skip
        self.has_next = len(rows) > self.page_size
        self.has_previous = self.page_number > 1
        self.page = rows[: self.page_size]
        return self.page

    # --- cursors ------------------------------------------------------------------------------

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(encoded.encode("ascii")))
            names, reverse, raw = data["k"], bool(data["r"]), data["v"]
            if names != [k.name for k in self.keys] or len(raw) != len(self.keys):
                raise ValueError("the cursor belongs to another ordering")
            values = [
                None if v is None else self.model._meta.get_field(k.name).to_python(v)
                for k, v in zip(self.keys, raw, strict=True)
            ]
        except (
            ValueError, TypeError, KeyError, UnicodeError, binascii.Error, FieldDoesNotExist,
            DjangoValidationError,
        ):  # fmt: skip
            message = [str(self.invalid_cursor_message)]
            raise ValidationError({self.cursor_query_param: message}) from None
        return reverse, values

    def encode_cursor(self, reverse, row):
        values = []
        for key in self.keys:
            value = getattr(row, key.name)
            values.append(value.isoformat() if hasattr(value, "isoformat") else value)
        data = {"k": [k.name for k in self.keys], "r": int(reverse), "v": values}
        encoded = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
        url = remove_query_param(self.base_url, self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, encoded.decode("ascii"))

    def get_next_link(self):
        if not self.has_next or not self.page:
            return None
        if self.page_number is not None and self.page_number < COUNT_BOUND // self.page_size:
            return replace_query_param(self.base_url, self.page_query_param, self.page_number + 1)
        return self.encode_cursor(False, self.page[-1])

    def get_previous_link(self):
        if not self.has_previous:
            return None
        if self.page_number is not None:
            return replace_query_param(self.base_url, self.page_query_param, self.page_number - 1)
        if not self.page:
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self.encode_cursor(True, self.page[0])

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.count,
                "count_exact": self.count_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "count_exact", "next", "previous", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "nullable": True,
                    "description": f"Exact up to {COUNT_BOUND} rows; above that the "
                    "database's estimate (count_exact false), or null where there is none.",
                },
                "count_exact": {"type": "boolean"},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The position of a page: take it from the next or previous "
                "link. Pages cost the same at any depth.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": f"A page number, for the first {COUNT_BOUND} rows only (400 "
                "beyond); deeper pages through the cursor.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.page_size}, at most "
                f"{self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


def bounded_count(queryset, bound=None):
    """(count, exact): exact up to `bound` rows (a LIMITed count stops there); above it the
    planner's estimate on PostgreSQL, else None."""
    bound = COUNT_BOUND if bound is None else bound
    rows = queryset.order_by().values("pk")
    exact = rows[: bound + 1].count()
    if exact <= bound:
        return exact, True
    if connections[queryset.db].vendor != "postgresql":
        return None, False
    plan = json.loads(rows.explain(format="json"))
    return max(bound + 1, int(plan[0]["Plan"]["Plan Rows"])), False


class BoundedPaginator(Paginator):
    """Page numbers for the portal's lists over their first COUNT_BOUND rows, counted with a
    LIMIT (the rest is reached by narrowing the filters). `count_exact` tells the template
    whether `count` is the whole count; `estimate` is PostgreSQL's estimate above the bound."""

    @cached_property
    def _bounded(self):
        return bounded_count(self.object_list)

    @cached_property
    def count(self):
        count, exact = self._bounded
        return count if exact else COUNT_BOUND

    @property
    def count_exact(self):
        return self._bounded[1]

    @property
    def estimate(self):
        return None if self.count_exact else self._bounded[0]
