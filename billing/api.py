"""`/api/v1/time-entries/` (issue 18 item 1): list (`?ticket=`), create, retrieve, update,
delete. Provider staff read all entries and service desk workers write them; authorised
contacts read their organisation's billable entries, customer users the billable entries of
their own tickets. An entry a caller may not read answers 404."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.response import Response

from pim import inputs
from pim.api import TenantScopedMixin
from pim.filters import parse_id
from pim.permissions import require_staff
from tickets.models import Ticket

from . import services
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
