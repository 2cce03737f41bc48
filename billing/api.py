"""`/api/v1/time-entries/` (issue 18 item 1): list (`?ticket=`), create, retrieve, update,
delete. Provider staff read all entries and service desk workers write them; authorised
contacts read their organisation's billable entries, customer users the billable entries of
their own tickets. An entry a caller may not read answers 404; one of a closed month 409.

`/api/v1/tickets/{id}/reclassify-time/` (an incident's cause known later),
`/api/v1/billing/{organization}/{YYYY-MM}/` (the monthly overview) and its `close/` (issue 18
item 4)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from pim import inputs
from pim.api import TenantScopedMixin
from pim.filters import parse_id
from pim.permissions import is_authorised_contact, is_provider_staff, require_staff
from pim.scoping import visible_organizations
from tickets.models import Ticket

from . import months, overview, services
from .models import MINUTES_MAX, MINUTES_MIN, Category, TimeEntry


class TimeEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    ticket = serializers.IntegerField(
        min_value=1, max_value=inputs.MAX_ID, help_text="The ticket's id (set on create)."
    )
    number = serializers.CharField(source="ticket.number", read_only=True)
    user = serializers.CharField(
        max_length=150,
        required=False,
        help_text="Username of the service desk worker who did the work (default: you).",
    )
    worked_on = serializers.DateField()
    minutes = serializers.IntegerField(min_value=MINUTES_MIN, max_value=MINUTES_MAX)
    description = serializers.CharField(max_length=services.DESCRIPTION_MAX)
    category = serializers.ChoiceField(choices=Category.choices)
    billable = serializers.BooleanField(
        read_only=True, help_text="Derived from the category: not covered by the SLA's fee."
    )
    created_at = serializers.DateTimeField(read_only=True)
    created_by = serializers.CharField(read_only=True, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True)
    updated_by = serializers.CharField(read_only=True, allow_null=True)

    def to_representation(self, entry):
        return {
            "id": entry.pk,
            "ticket": entry.ticket_id,
            "number": entry.ticket.number,
            "user": entry.user.username,
            "worked_on": entry.worked_on.isoformat(),
            "minutes": entry.minutes,
            "description": entry.description,
            "category": entry.category,
            "billable": entry.billable,
            "created_at": serializers.DateTimeField().to_representation(entry.created_at),
            "created_by": entry.created_by.username if entry.created_by_id else None,
            "updated_at": serializers.DateTimeField().to_representation(entry.updated_at),
            "updated_by": entry.updated_by.username if entry.updated_by_id else None,
        }


class TimeEntryUpdateSerializer(TimeEntrySerializer):
    ticket = serializers.IntegerField(read_only=True)


@extend_schema(tags=["time-entries"])
class TimeEntryViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Time entries on tickets: staff all, customers their organisation's billable time."""

    serializer_class = TimeEntrySerializer
    filter_backends = []
    lookup_value_regex = r"[0-9]+"

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return TimeEntryUpdateSerializer
        return TimeEntrySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TimeEntry.objects.none()
        qs = services.entries_for(self.request.user)
        ticket = self.request.query_params.get("ticket")
        if ticket is not None and self.action == "list":
            pk = parse_id(ticket)
            if pk is None:
                raise exceptions.ValidationError({"ticket": ["A ticket id: a whole number."]})
            qs = qs.filter(ticket_id=pk)
        return qs.order_by("-worked_on", "-pk")

    @extend_schema(
        parameters=[OpenApiParameter("ticket", int, description="Only this ticket's entries.")]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _values(self, data, partial=False):
        values = {k: data[k] for k in services.FIELDS if k in data and k != "user"}
        if "user" in data:
            worker = services.workers().filter(username=data["user"]).first()
            if worker is None:
                raise exceptions.ValidationError(
                    {"user": [f"No such service desk worker: {data['user']}."]}
                )
            values["user"] = worker
        elif not partial:
            values["user"] = self.request.user
        return values

    # Writes: an entry the caller cannot read answers 404 first (the tenant rule), then the
    # services refuse everybody but service desk workers (403).

    def create(self, request, *args, **kwargs):
        require_staff(request.user, "Service desk workers record time.")
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        ticket = get_object_or_404(Ticket.objects.visible_to(request.user), pk=data["ticket"])
        entry = services.add_entry(ticket, request.user, self._values(data))
        entry = services.entries_for(request.user).get(pk=entry.pk)
        return Response(TimeEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        entry = self.get_object()
        require_staff(request.user, "Service desk workers change time entries.")
        ser = self.get_serializer(data=request.data, partial=partial)
        ser.is_valid(raise_exception=True)
        services.edit_entry(entry, request.user, self._values(ser.validated_data, partial=True))
        entry = services.entries_for(request.user).get(pk=entry.pk)
        return Response(TimeEntrySerializer(entry).data)

    def destroy(self, request, *args, **kwargs):
        entry = self.get_object()
        services.delete_entry(entry, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the monthly overview (issue 18 item 4) ---------------------------------------------------


class _Answer(serializers.Serializer):
    """A response shape only: every field is read-only."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.read_only = True
        return fields


class CategoryLineSerializer(_Answer):
    category = serializers.ChoiceField(choices=Category.choices)
    label = serializers.CharField()
    billable = serializers.BooleanField()
    minutes = serializers.IntegerField()
    hours = serializers.DecimalField(max_digits=12, decimal_places=2)
    hourly_rate = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class CorrectionLineSerializer(_Answer):
    ticket_number = serializers.CharField()
    worked_on = serializers.DateField()
    minutes = serializers.IntegerField()
    from_category = serializers.ChoiceField(choices=Category.choices)
    to_category = serializers.ChoiceField(choices=Category.choices)
    billable_minutes = serializers.IntegerField(
        help_text="The change in billable minutes (negative: credited)."
    )
    hourly_rate = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class QuoteLineSerializer(_Answer):
    ticket_number = serializers.CharField()
    title = serializers.CharField()
    version = serializers.IntegerField()
    accepted_at = serializers.DateTimeField()
    free = serializers.BooleanField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)


class OverviewSerializer(_Answer):
    organization = serializers.IntegerField(source="organization_id")
    organization_name = serializers.CharField()
    month = serializers.DateField(help_text="The first day of the month.")
    status = serializers.ChoiceField(
        choices=["final", "provisional"], help_text="final once a manager closed the month."
    )
    closed_at = serializers.DateTimeField(allow_null=True)
    hourly_rate = serializers.DecimalField(
        max_digits=8, decimal_places=2, allow_null=True, help_text="EUR, excluding VAT."
    )
    vat_rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    lines = CategoryLineSerializer(many=True)
    corrections = CorrectionLineSerializer(many=True)
    quotes = QuoteLineSerializer(many=True)
    within_minutes = serializers.IntegerField()
    billable_minutes = serializers.IntegerField()
    time_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    corrections_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    subtotal = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="Excluding VAT: time and corrections."
    )
    vat_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    quotes_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="Accepted quotes, invoiced on their own terms."
    )
    missing_rates = serializers.ListField(
        child=serializers.IntegerField(), help_text="Years whose rates are not entered yet."
    )


MONTH_PARAM = OpenApiParameter(
    "month", str, OpenApiParameter.PATH, description="The month, YYYY-MM."
)
ORG_PARAM = OpenApiParameter(
    "organization", int, OpenApiParameter.PATH, description="The organisation's id."
)


class _BillingMonth(TenantScopedMixin, APIView):
    """An organisation the caller may not see answers 404 first, then the role (403), then the
    month (400)."""

    def organization_and_month(self, request, organization, month):
        org = get_object_or_404(visible_organizations(request.user), pk=organization)
        if not (is_provider_staff(request.user) or is_authorised_contact(request.user)):
            raise exceptions.PermissionDenied(
                "Authorised contacts and provider staff read billing overviews."
            )
        first = inputs.parse_month(month)
        if first is None:
            raise exceptions.ValidationError({"month": [inputs.month_message()]})
        return org, first


@extend_schema(tags=["billing"], parameters=[ORG_PARAM, MONTH_PARAM])
class BillingOverviewView(_BillingMonth):
    """The billing overview of an organisation and month: hours per category (within the SLA
    and billable), the amount in euros excluding VAT, the VAT and the total, corrections,
    quotes accepted in the month, final or provisional."""

    @extend_schema(responses=OverviewSerializer)
    def get(self, request, organization, month):
        org, first = self.organization_and_month(request, organization, month)
        return Response(OverviewSerializer(overview.overview(org, first)).data)


@extend_schema(tags=["billing"], parameters=[ORG_PARAM, MONTH_PARAM])
class BillingCloseView(_BillingMonth):
    """Close the month for the organisation (provider managers): its time entries are frozen
    and the overview is final. Closing twice, or a month that has not ended, answers 409."""

    @extend_schema(request=None, responses={201: OverviewSerializer})
    def post(self, request, organization, month):
        org, first = self.organization_and_month(request, organization, month)
        months.close_month(org, first, request.user)
        return Response(
            OverviewSerializer(overview.overview(org, first)).data, status=status.HTTP_201_CREATED
        )


class ReclassifySerializer(serializers.Serializer):
    category = serializers.ChoiceField(
        choices=[(c.value, c.label) for c in months.INCIDENT_CAUSES],
        help_text="The incident's cause as now known.",
    )
    reason = serializers.CharField(max_length=months.REASON_MAX)


class CorrectionCreatedSerializer(_Answer):
    id = serializers.IntegerField()
    month = serializers.DateField(help_text="The open month the correction is billed in.")
    worked_on = serializers.DateField()
    minutes = serializers.IntegerField()
    from_category = serializers.ChoiceField(choices=Category.choices)
    to_category = serializers.ChoiceField(choices=Category.choices)
    billable_minutes = serializers.IntegerField()


class ReclassifyResultSerializer(_Answer):
    edited = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of the entries of open months changed."
    )
    corrections = CorrectionCreatedSerializer(many=True)


@extend_schema(tags=["time-entries"])
class TicketReclassifyTimeView(TenantScopedMixin, APIView):
    """An incident's cause is known now (service desk workers): its time entries of open months
    change category (audited; the customer is told when the time becomes billable); those of
    closed months stay frozen and get a correction line in the next open month."""

    @extend_schema(request=ReclassifySerializer, responses=ReclassifyResultSerializer)
    def post(self, request, pk):
        ticket = get_object_or_404(Ticket.objects.visible_to(request.user), pk=pk)
        require_staff(request.user, "Service desk workers reclassify time.")
        ser = ReclassifySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        done = months.reclassify(
            ticket, request.user, ser.validated_data["category"], ser.validated_data["reason"]
        )
        return Response(
            ReclassifyResultSerializer(
                {"edited": [e.pk for e in done["edited"]], "corrections": done["corrections"]}
            ).data
        )
