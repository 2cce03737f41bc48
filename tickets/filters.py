"""One TicketFilter for every ticket list: the agent queue, the customer list and the API (after
paperless-ngx's `documents/filters.py`). The pages add only presentation (labels, widgets, a
default); the API takes it as its filterset. Sorting is not filtering: the queue sorts with
`QueueFilter`'s `sort`/`dir`, the API with `?ordering=`.
"""

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.constants import EMPTY_VALUES

from pim import inputs
from pim.filters import MAX_ID, IdFilter, InstantFilter, parse_id
from pim.models import Organization
from pim.months import month_bounds

from . import extensions
from .forms import worker_users
from .models import OPEN_STATUSES, Kind, Priority, Status, Ticket
from .queries import search_filter

OPEN, ALL = "open", "all"
SLA_STATES = ("pending", "at_risk", "met", "breached")
MINE, UNASSIGNED = "mine", "unassigned"


class AssigneeField(forms.CharField):
    """A worker's id, "mine" or "unassigned"."""

    def clean(self, value):
        value = super().clean(value)
        if value and value not in (MINE, UNASSIGNED) and parse_id(value) is None:
            raise ValidationError(_("Choose a valid assignee."), code="invalid")
        return value


class AssigneeFilter(django_filters.CharFilter):
    field_class = AssigneeField


class MonthField(forms.CharField):
    """A month as YYYY-MM (1970-01 .. 8999-12): the first day of the month."""

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        month = inputs.parse_month(value)
        if month is None:
            raise ValidationError(inputs.month_message(), code="invalid")
        return month


class MonthFilter(django_filters.CharFilter):
    field_class = MonthField


def _owned_choices(name):
    """The choices of a filter an upper app owns (read when the form is built)."""
    return lambda: extensions.list_filter_choices(name)


class TicketFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        label=_("Status"),
        choices=[(OPEN, _("All open")), (ALL, _("All statuses")), *Status.choices],
        method="filter_status",
        help_text=_('"open": every status before resolved; "all": no status filter.'),
    )
    # distinct=False: a filter on the ticket's own column cannot repeat rows, and DISTINCT
    # would make PostgreSQL sort every match before the first page (bench/api_scale.py)
    priority = django_filters.MultipleChoiceFilter(
        label=_("Priority"), choices=Priority.choices, distinct=False
    )
    kind = django_filters.MultipleChoiceFilter(
        label=_("Kind"), choices=Kind.choices, distinct=False
    )
    organization = IdFilter(label=_("Organisation"), field_name="organization_id")
    service = IdFilter(label=_("Service"), field_name="service_id")
    assignee = AssigneeFilter(
        label=_("Assignee"),
        method="filter_assignee",
        help_text=_('A user id, "mine" or "unassigned".'),
    )
    reported_after = InstantFilter(field_name="reported_at", lookup_expr="gte")
    reported_before = InstantFilter(field_name="reported_at", lookup_expr="lt")
    search = django_filters.CharFilter(label=_("Search"), method="filter_search", max_length=200)
    sla_state = django_filters.ChoiceFilter(
        label=_("SLA state"), choices=[(s, s) for s in SLA_STATES], method="filter_sla_state"
    )
    # The dashboard's drill-downs (sla/dashboard.py): the tickets behind each figure.
    reported = MonthFilter(
        label=_("Reported in month"),
        method="filter_reported",
        help_text=_("YYYY-MM: the month the ticket was reported in (Europe/Amsterdam)."),
    )
    target = django_filters.ChoiceFilter(
        label=_("SLA target"),
        choices=_owned_choices("target"),
        method="filter_target",
        help_text=_("Tickets whose clock of this target counts in the SLA figures."),
    )
    outcome = django_filters.ChoiceFilter(
        label=_("SLA outcome"),
        choices=_owned_choices("outcome"),
        method="filter_outcome",
        help_text=_("With target: that clock's outcome now (met, breached or running)."),
    )
    escalation = django_filters.ChoiceFilter(
        label=_("Open escalation"),
        choices=_owned_choices("escalation"),
        method="filter_escalation",
        help_text=_("Tickets with an open escalation at this level (customers: their own)."),
    )
    rated = MonthFilter(
        label=_("Rated in month"),
        method="filter_rated",
        help_text=_("YYYY-MM: the month the reporter rated the ticket in (Europe/Amsterdam)."),
    )
    outage = MonthFilter(
        label=_("Outage in month"),
        method="filter_outage",
        help_text=_(
            "YYYY-MM: incidents whose outage of their service counts in that month's "
            "availability (with service: of that service)."
        ),
    )

    class Meta:
        model = Ticket
        fields = ["status", "priority", "kind", "organization", "assignee"]

    # Each filter with a method is a Q (q_<name>): the API filters with it, and the queue builds
    # one Q of all its filters (QueueFilter.as_q), for its rows and its saved views' counts.

    def q_status(self, value):
        wanted = set(value)
        if not wanted or ALL in wanted:
            return Q()
        if OPEN in wanted:
            wanted = (wanted - {OPEN}) | set(OPEN_STATUSES)
        return Q(status__in=sorted(wanted))

    def q_assignee(self, value):
        if value == MINE:
            user = getattr(self.request, "user", None)
            return Q(assignee=user) if user else Q(pk__in=[])
        if value == UNASSIGNED:
            return Q(assignee__isnull=True)
        return Q(assignee_id=int(value)) if value else Q()

    def q_search(self, value):
        """Number, text, updates (internal notes for provider staff only), reporter,
        organisation and location: `queries.search_filter`."""
        return search_filter(value, getattr(self.request, "user", None))

    def q_sla_state(self, value):
        """The ticket's SLA state: the worst state of its clocks, from the summary column the
        sla app keeps (the sweep moves it on when an at-risk or due moment passes); a live
        clock past its due time counts as breached before the sweep has seen it."""
        overdue = Q(next_due_at__lte=timezone.now())
        if value == "breached":
            return Q(sla_state=value) | overdue
        return Q(sla_state=value) & ~overdue

    def q_reported(self, value):
        start, end = month_bounds(value)
        return Q(reported_at__gte=start, reported_at__lt=end)

    def q_rated(self, value):
        """Tickets rated in the month (the dashboard's ratings per month)."""
        start, end = month_bounds(value)
        return Q(satisfaction_rating__rated_at__gte=start, satisfaction_rating__rated_at__lt=end)

    def _owned_q(self, name, value):
        flt = extensions.list_filter(name)
        if flt is None:
            return Q(pk__in=[])
        return flt.q(value, getattr(self.request, "user", None), self._cleaned_now())

    def _cleaned_now(self):
        """The cleaned values of the filters being applied (the queue's `as_q` hands a saved
        view's own; else the form's)."""
        cleaned = getattr(self, "_applying", None)
        if cleaned is None:
            cleaned = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        return cleaned

    def q_target(self, value):
        return self._owned_q("target", value)

    def q_outcome(self, value):
        return self._owned_q("outcome", value)

    def q_escalation(self, value):
        return self._owned_q("escalation", value)

    def q_outage(self, value):
        return self._owned_q("outage", value)

    def filter_reported(self, queryset, name, value):
        return queryset.filter(self.q_reported(value))

    def filter_target(self, queryset, name, value: str):
        return queryset.filter(self.q_target(value))

    def filter_outcome(self, queryset, name, value: str):
        return queryset.filter(self.q_outcome(value))

    def filter_escalation(self, queryset, name, value: str):
        return queryset.filter(self.q_escalation(value))

    def filter_rated(self, queryset, name, value):
        return queryset.filter(self.q_rated(value))

    def filter_outage(self, queryset, name, value):
        return queryset.filter(self.q_outage(value))

    def filter_status(self, queryset, name, value):
        return queryset.filter(self.q_status(value))

    def filter_assignee(self, queryset, name, value):
        return queryset.filter(self.q_assignee(value))

    def filter_search(self, queryset, name, value):
        return queryset.filter(self.q_search(value))

    def filter_sla_state(self, queryset, name, value):
        return queryset.filter(self.q_sla_state(value))


# --- the pages' presentation ----------------------------------------------------------------

# The names only a dashboard drill-down sets (sla/dashboard.py); the lists show them as a line
# above the rows, and keep them when other filters change.
DRILL_ONLY = ("reported", "target", "outcome", "escalation", "rated", "service", "outage")


def drill_context(filters, query, names=DRILL_ONLY):
    """(drill, drill_errors) of a list: the drill-down filters in use as (name, label, value),
    and the invalid ones as (label, messages); the list answers 400 for those."""
    errors = filters.form.errors
    drill, bad = [], []
    for name in names:
        for value in query.getlist(name):
            if not value:
                continue
            label = filters.form.fields[name].label
            if name in errors:
                bad.append((label, errors[name]))
                break
            drill.append((name, label, value))
    return drill, bad


SORT_CHOICES = [
    ("next_due", _("Next due")),
    ("reported_at", _("Reported")),
    ("priority", _("Priority")),
    ("status", _("Status")),
    ("number", _("Number")),
]
DIRECTION_CHOICES = [("desc", _("Descending")), ("asc", _("Ascending"))]
# The queue's default: the most urgent work first (the soonest live deadline, so a breached one
# leads; tickets without a running clock last), and each sort's natural direction.
DEFAULT_SORT = "next_due"
DEFAULT_DIRECTION = {"next_due": "asc", "priority": "asc"}  # else newest / highest first


class QueueSortForm(forms.Form):
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)
    dir = forms.ChoiceField(label=_("Order"), choices=DIRECTION_CHOICES, required=False)


class QueueFilter(TicketFilter):
    """The agent queue: the same filters as single choices with the page's widgets, its sort
    fields, and open tickets when no status is chosen."""

    status = django_filters.MultipleChoiceFilter(
        label=_("Status"),
        choices=TicketFilter.base_filters["status"].extra["choices"],
        method="filter_status",
        widget=forms.CheckboxSelectMultiple,
    )
    priority = django_filters.MultipleChoiceFilter(
        label=_("Priority"), choices=Priority.choices, widget=forms.CheckboxSelectMultiple
    )
    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=Kind.choices, empty_label=_("Any kind")
    )
    organization = django_filters.ModelChoiceFilter(
        label=_("Organisation"),
        queryset=Organization.objects.all(),
        empty_label=_("All organisations"),
    )

    class Meta(TicketFilter.Meta):
        form = QueueSortForm

    def __init__(self, data=None, *args, page=True, **kwargs):
        """`page=False`: only to filter (a saved view's count), without the page's widgets."""
        if data is not None:
            # The form is bound to what the queue really applies, so its controls show it.
            data = data.copy()
            if not data.getlist("status"):
                data.setlist("status", [OPEN])
            if not data.get("sort"):
                data["sort"] = DEFAULT_SORT
            if not data.get("dir"):
                data["dir"] = DEFAULT_DIRECTION.get(data["sort"], "desc")
        super().__init__(data, *args, **kwargs)
        if not page:
            # the organisation by its id: no lookup per view (the counts stay one query)
            self.form.fields["organization"] = forms.IntegerField(
                required=False, min_value=1, max_value=MAX_ID
            )
            return
        for field in self.form.fields.values():
            field.help_text = ""  # the API's notes; the page's choices say it
        self.form.fields["assignee"].widget = forms.Select(
            choices=[
                ("", _("Anyone")),
                (MINE, _("Assigned to me")),
                (UNASSIGNED, _("Unassigned")),
                *((str(u.pk), u.get_full_name() or u.username) for u in worker_users()),
            ]
        )

    def filter_queryset(self, queryset):
        return queryset.filter(self.as_q())

    def as_q(self, cleaned=None):
        """The valid filters as one Q (invalid values are ignored, and shown on the form): the
        queue's rows, and a saved view's count from its `cleaned` data (tickets/queue_views.py).
        """
        if cleaned is None:
            self.errors  # noqa: B018 - validates the form
            cleaned = self.form.cleaned_data
        self._applying = cleaned
        q = Q()
        for name, flt in self.filters.items():  # the sort fields are not filters
            value = cleaned.get(name)
            if value in EMPTY_VALUES:
                continue
            if flt.method:
                q &= getattr(self, f"q_{name}")(value)
            elif isinstance(flt, django_filters.MultipleChoiceFilter):
                q &= Q(**{f"{flt.field_name}__in": sorted(value)})
            else:
                if isinstance(flt, InstantFilter):
                    value = value.astimezone(UTC)
                q &= Q(**{f"{flt.field_name}__{flt.lookup_expr}": value})
        return q

    @property
    def sort_data(self):
        """The valid sort fields (invalid ones are ignored, and shown on the form)."""
        return {k: self.form.cleaned_data.get(k) for k in ("sort", "dir")} if self.is_bound else {}
