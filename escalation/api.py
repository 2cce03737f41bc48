"""REST API: customer escalation of a ticket, the list of escalations, acknowledge.

`POST /api/v1/tickets/{id}/escalate/` lives here (routed in pim/urls.py ahead of the ticket
router) rather than as an action on TicketViewSet, so the escalation app owns its API.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from pim.api import TenantScopedMixin
from tickets.models import Ticket

from . import services
from .models import Escalation


class EscalationSerializer(serializers.ModelSerializer):
    ticket = serializers.IntegerField(source="ticket_id", read_only=True)
    number = serializers.CharField(source="ticket.number", read_only=True)
    raised_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Escalation
        fields = [
            "id", "ticket", "number", "level", "trigger", "reason", "raised_by", "raised_at",
            "tier", "acknowledged_by", "acknowledged_at",
        ]  # fmt: skip
        read_only_fields = fields


class EscalateSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class AcknowledgeSerializer(serializers.Serializer):
    escalation = serializers.IntegerField()


class TicketEscalateView(TenantScopedMixin, GenericAPIView):
    """An authorised contact escalates a ticket of their organisation, with a reason."""

    serializer_class = EscalateSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Ticket.objects.none()
        return Ticket.objects.visible_to(self.request.user)

    @extend_schema(request=EscalateSerializer, responses={201: EscalationSerializer})
    def post(self, request, pk):
        ticket = get_object_or_404(self.get_queryset(), pk=pk)
        data = EscalateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        escalation = services.escalate_by_customer(
            ticket, request.user, data.validated_data["reason"]
        )
        return Response(EscalationSerializer(escalation).data, status=status.HTTP_201_CREATED)


class EscalationViewSet(TenantScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Escalations: staff see all; customers the ones raised by customers on tickets they see."""

    serializer_class = EscalationSerializer
    filter_backends = []  # django-filter cannot introspect the tenant-scoped manager

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Escalation.objects.none()
        user = self.request.user
        qs = Escalation.objects.filter(ticket__in=Ticket.objects.visible_to(user))
        if not user.is_provider_staff:
            qs = qs.filter(trigger=services.CUSTOMER_TRIGGER)
        params = self.request.query_params
        if params.get("open") in ("1", "true"):
            qs = qs.filter(acknowledged_at__isnull=True)
        if params.get("level"):
            qs = qs.filter(level=params["level"])
        if params.get("ticket", "").isdigit():
            qs = qs.filter(ticket_id=int(params["ticket"]))
        return qs.select_related("ticket", "raised_by", "acknowledged_by").order_by(
            "-raised_at", "-pk"
        )

    @extend_schema(request=AcknowledgeSerializer, responses={200: EscalationSerializer})
    @action(detail=False, methods=["post"])
    def acknowledge(self, request):
        data = AcknowledgeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        escalation = get_object_or_404(self.get_queryset(), pk=data.validated_data["escalation"])
        escalation = services.acknowledge(escalation, request.user)
        return Response(EscalationSerializer(escalation).data)
