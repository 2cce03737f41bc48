"""REST API: customer escalation of a ticket, the list of escalations, acknowledge, webhook
endpoints, and the caller's in-app notifications (the bell).

`POST /api/v1/tickets/{id}/escalate/` lives here (routed in pim/urls.py ahead of the ticket
router) rather than as an action on TicketViewSet, so the escalation app owns its API.
"""

import uuid

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from pim import inputs
from pim.api import Conflict, Pagination, TenantScopedMixin
from pim.filters import MAX_ID, parse_id
from pim.models import Organization
from pim.parsers import JSONParser
from pim.permissions import may_manage_webhooks
from pim.serializers import ModelSerializer
from tickets.models import Ticket

from . import outbox, preferences, services
from .acknowledge import acknowledge
from .models import (
    ALL_EVENTS,
    CUSTOMER_TRIGGER,
    MANDATORY_EVENTS,
    Channel,
    Escalation,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from .webhooks import addresses, endpoints, events, signing


class EscalationSerializer(ModelSerializer):
    ticket = serializers.IntegerField(source="ticket_id", read_only=True)
    number = serializers.CharField(source="ticket.number", read_only=True)
    # null: raised by the system (a clock trigger); not acknowledged yet
    raised_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    acknowledged_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Escalation
        fields = [
            "id", "ticket", "number", "level", "trigger", "reason", "raised_by", "raised_at",
            "tier", "acknowledged_by", "acknowledged_at", "closed_at",
        ]  # fmt: skip
        read_only_fields = fields


class EscalateSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=inputs.ESCALATION_REASON_MAX)


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
            qs = qs.filter(trigger=CUSTOMER_TRIGGER)
        params = self.request.query_params
        if params.get("open") in ("1", "true"):  # its ticket is not resolved or closed yet
            qs = qs.filter(closed_at__isnull=True)
        if params.get("level"):
            qs = qs.filter(level=params["level"])
        if params.get("ticket"):
            ticket_id = parse_id(params["ticket"])
            if ticket_id is None:
                raise exceptions.ValidationError({"ticket": ["A ticket id: a whole number."]})
            qs = qs.filter(ticket_id=ticket_id)
        return qs.select_related("ticket", "raised_by", "acknowledged_by").order_by(
            "-raised_at", "-pk"
        )

    @extend_schema(request=AcknowledgeSerializer, responses={200: EscalationSerializer})
    @action(detail=False, methods=["post"])
    def acknowledge(self, request):
        data = AcknowledgeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        escalation = get_object_or_404(self.get_queryset(), pk=data.validated_data["escalation"])
        escalation = acknowledge(escalation, request.user)
        return Response(EscalationSerializer(escalation).data)


# --- outgoing webhooks ------------------------------------------------------------------------


class WebhookEndpointSerializer(ModelSerializer):
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(),
        required=False,
        help_text="Admins only; an authorised contact's endpoints belong to their organisation.",
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=[ALL_EVENTS, *WebhookEvent.values]),
        required=False,
        max_length=20,
        help_text='Event types to receive; ["all"] (the default) for every event.',
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "organization", "url", "event_types", "is_active", "disabled_reason",
                  "allow_private", "rotated_at", "created_at"]  # fmt: skip
        read_only_fields = ["is_active", "disabled_reason", "allow_private", "rotated_at",
                            "created_at"]  # fmt: skip
        extra_kwargs = {"url": {"max_length": 500}}

    def validate_url(self, value):
        try:
            addresses.validate_url(value, allow_private=False)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value


class WebhookEndpointSecretSerializer(WebhookEndpointSerializer):
    """Shown on creation and rotation only: the signing secret."""

    secret = serializers.CharField(read_only=True)

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookDeliverySerializer(ModelSerializer):
    event_type = serializers.CharField(source="notification.trigger", read_only=True)
    webhook_id = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = ["id", "notification", "event_type", "webhook_id", "attempt", "status_code",
                  "error", "duration_ms", "at"]  # fmt: skip
        read_only_fields = fields

    def get_webhook_id(self, obj) -> str:
        return signing.message_id(obj.notification)


class WebhookTestSerializer(serializers.Serializer):
    notification = serializers.IntegerField(read_only=True)
    webhook_id = serializers.CharField(read_only=True)


class WebhookEndpointViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """An organisation's webhook endpoints (Standard Webhooks): authorised contacts manage their
    organisation's, provider admins all. Others see none."""

    serializer_class = WebhookEndpointSerializer
    pagination_class = Pagination
    filter_backends = []
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookEndpoint.objects.none()
        return endpoints.endpoints_for(self.request.user)

    @extend_schema(responses={201: WebhookEndpointSecretSerializer})
    def create(self, request, *args, **kwargs):
        user = request.user
        if not may_manage_webhooks(user):
            raise exceptions.PermissionDenied(
                "Only authorised contacts and admins manage webhooks."
            )
        data = WebhookEndpointSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = endpoints.create_endpoint(
            user,
            data.validated_data["url"],
            event_types=data.validated_data.get("event_types"),
            organization=data.validated_data.get("organization"),
        )
        return Response(
            WebhookEndpointSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=None, responses={200: WebhookEndpointSecretSerializer})
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None, **kwargs):
        """A new secret; for 24 hours messages are signed with the old one too."""
        endpoint = endpoints.rotate_secret(self.get_object())
        return Response(WebhookEndpointSecretSerializer(endpoint).data)

    @extend_schema(request=None, responses={202: WebhookTestSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None, **kwargs):
        """Send a `webhook.test` event to this endpoint."""
        endpoint = self.get_object()
        if not endpoint.is_active:
            raise Conflict("This endpoint is disabled.")
        key = uuid.uuid4().hex
        notification, _created = events.notify_webhook_test(endpoint, key)
        return Response(
            {"notification": notification.pk, "webhook_id": signing.message_id(notification)},
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(request=None, responses={200: WebhookDeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None, **kwargs):
        """The delivery log: every attempt, newest first."""
        endpoint = self.get_object()
        qs = (
            WebhookDelivery.objects.filter(notification__endpoint=endpoint)
            .select_related("notification")
            .order_by("-at", "-pk")
        )
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ticket = serializers.CharField(source="ticket.number", allow_null=True, default=None)
    trigger = serializers.CharField()
    level = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False
    )


class NotificationViewSet(TenantScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's in-app notifications (the bell), newest first."""

    serializer_class = NotificationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return (
            Notification.objects.filter(recipient=self.request.user, channel=Channel.IN_APP)
            .select_related("ticket")
            .order_by("-created_at", "-pk")
        )

    @extend_schema(
        request=MarkReadSerializer,
        responses=inline_serializer("MarkedRead", {"marked": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"], parser_classes=[JSONParser])
    def read(self, request, **kwargs):
        """Mark the given notifications (or, without `ids`, all) as read."""
        ser = MarkReadSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        marked = outbox.mark_read(request.user, ser.validated_data.get("ids"))
        return Response({"marked": marked}, status=status.HTTP_200_OK)


class NotificationPreferenceSerializer(serializers.Serializer):
    by_email = serializers.BooleanField(required=False)
    in_app = serializers.BooleanField(required=False)
    events = serializers.DictField(
        child=serializers.BooleanField(),
        required=False,
        help_text="Event code -> on/off. receipt and waiting are always on.",
    )
    mandatory_events = serializers.ListField(child=serializers.CharField(), read_only=True)


class NotificationPreferenceView(TenantScopedMixin, APIView):
    """The caller's notification preferences: which customer events, by e-mail and/or in the
    portal (the receipt and waiting for customer cannot be switched off)."""

    parser_classes = [JSONParser]

    def _data(self, preference):
        return {
            "by_email": preference.by_email,
            "in_app": preference.in_app,
            "events": preferences.enabled_events(preference),
            "mandatory_events": sorted(str(e) for e in MANDATORY_EVENTS),
        }

    @extend_schema(responses=NotificationPreferenceSerializer)
    def get(self, request):
        return Response(self._data(preferences.preferences_of(request.user)))

    @extend_schema(
        request=NotificationPreferenceSerializer, responses=NotificationPreferenceSerializer
    )
    def put(self, request):
        return self._save(request)

    @extend_schema(
        request=NotificationPreferenceSerializer, responses=NotificationPreferenceSerializer
    )
    def patch(self, request):
        return self._save(request)

    def _save(self, request):
        ser = NotificationPreferenceSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        current = preferences.preferences_of(request.user)
        preference = preferences.save(
            request.user,
            by_email=data.get("by_email", current.by_email),
            in_app=data.get("in_app", current.in_app),
            events=data.get("events", {}),
        )
        return Response(self._data(preference))
