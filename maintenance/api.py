"""REST API for maintenance notices and subscriptions (DESIGN §5 style)."""

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from pim import inputs
from pim.api import TenantScopedMixin
from pim.filters import IdFilter, InstantFilter, parse_id
from pim.inputs import DateTimeApiField
from pim.models import Organization, Service
from pim.permissions import IsStaffForWrites
from pim.scoping import organization_filter, visible_organizations
from pim.serializers import ModelSerializer
from tickets.api import StrictFieldsMixin

from . import queries, services
from .models import Kind, MaintenanceNotice, MaintenanceUpdate, Status, Subscription


class MaintenanceStatusField(serializers.ChoiceField):
    """A notice's status (its own enum component: "status" is also the tickets' enum)."""

    def __init__(self, **kwargs):
        super().__init__(choices=Status.choices, **kwargs)


class MaintenanceStatusFieldExtension(OpenApiSerializerFieldExtension):
    target_class = MaintenanceStatusField

    def map_serializer_field(self, auto_schema, direction):
        component = ResolvedComponent(
            name="MaintenanceStatusEnum",
            type=ResolvedComponent.SCHEMA,
            object="MaintenanceStatusEnum",
            schema={
                "type": "string",
                "enum": list(Status.values),
                "description": "scheduled → in_progress → completed; scheduled or "
                "in_progress → cancelled",
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class MaintenanceUpdateSerializer(ModelSerializer):
    status = MaintenanceStatusField(read_only=True)
    author = serializers.CharField(source="author.username", read_only=True, default=None)

    class Meta:
        model = MaintenanceUpdate
        fields = ["id", "event", "status", "message", "author", "at"]
        read_only_fields = fields


class NoticeSerializer(StrictFieldsMixin, ModelSerializer):
    organizations = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Organization.objects.all(), required=False
    )
    services = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Service.objects.all(), required=False
    )
    initiated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    starts_at = DateTimeApiField()
    ends_at = DateTimeApiField()
    status = MaintenanceStatusField(read_only=True)
    updates = MaintenanceUpdateSerializer(many=True, read_only=True)

    class Meta:
        model = MaintenanceNotice
        fields = [
            "id", "kind", "title", "description", "all_organizations", "organizations",
            "services", "starts_at", "ends_at", "impact", "emergency_scenario", "initiator",
            "initiated_by", "status", "sequence", "announced_at", "created_at", "updated_at",
            "updates",
        ]  # fmt: skip
        read_only_fields = [
            "id", "status", "sequence", "announced_at", "created_at", "updated_at",
        ]  # fmt: skip
        extra_kwargs = {
            "description": {"max_length": inputs.DESCRIPTION_MAX},
            "emergency_scenario": {"max_length": inputs.MAINTENANCE_TEXT_MAX},
        }

    def to_representation(self, notice):
        data = super().to_representation(notice)
        user = self.context["request"].user
        if not user.is_provider_staff:
            # A customer reads only their own organisation's part of a shared notice.
            org_id = user.organization_id_or_none
            data["organizations"] = [pk for pk in data["organizations"] if pk == org_id]
            own = {s.pk for s in notice.services.all() if s.organization_id == org_id}
            data["services"] = [pk for pk in data["services"] if pk in own]
        return data

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            fields["organizations"].child_relation.queryset = visible_organizations(user)
            fields["services"].child_relation.queryset = Service.objects.filter(
                organization_filter(user)
            )
        return fields

    def create(self, validated_data):
        return services.create_notice(self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return services.update_notice(instance, self.context["request"].user, **validated_data)

    def get_validators(self):
        return []  # the rules (end after start …) are services.validate_notice's job


class StatusUpdateSerializer(serializers.Serializer):
    status = MaintenanceStatusField()
    message = serializers.CharField(
        required=False, allow_blank=True, max_length=inputs.MAINTENANCE_TEXT_MAX
    )


class NoticeFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    kind = django_filters.MultipleChoiceFilter(choices=Kind.choices)
    organization = IdFilter(method="filter_organization")
    starts_after = InstantFilter(field_name="starts_at", lookup_expr="gte")
    starts_before = InstantFilter(field_name="starts_at", lookup_expr="lt")

    class Meta:
        model = MaintenanceNotice
        fields = ["status", "kind"]

    def filter_organization(self, queryset, name, value):
        return queryset.for_organization(value)


class IdLookupMixin:
    """Numeric ids only, within the database's range: anything else is a 404, not a 500."""

    lookup_value_regex = r"\d+"

    def get_object(self):
        value = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "")
        if parse_id(value) is None:
            raise exceptions.NotFound()
        return super().get_object()


class StaffWritesNotices(IsStaffForWrites):
    """Anybody in scope reads; only provider staff announce or change (customers: 403). A change
    of one notice is decided after its lookup, so a notice outside the scope answers 404 first."""

    message = "Only provider staff can announce or change maintenance."

    def has_permission(self, request, view):
        return view.action != "create" or super().has_permission(request, view)

    def has_object_permission(self, request, view, obj):
        return super().has_permission(request, view)


class MaintenanceNoticeViewSet(
    IdLookupMixin,
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Maintenance notices the caller may see: customers their organisation's (and those of all
    organisations), provider staff all. Anything else answers 404. Provider staff announce
    (POST), change (PATCH) and post status updates; the rules of SPEC §8 answer 400 with the
    earliest allowed start."""

    serializer_class = NoticeSerializer
    permission_classes = [IsAuthenticated, StaffWritesNotices]
    filterset_class = NoticeFilter
    ordering_fields = ["starts_at", "ends_at", "updated_at"]
    ordering = ["starts_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MaintenanceNotice.objects.none()
        return queries.notice_detail(self.request.user)

    def perform_update(self, serializer):
        notice = serializer.save()
        serializer.instance = queries.get_notice_for(self.request.user, notice.pk, detail=True)

    @extend_schema(request=StatusUpdateSerializer, responses=NoticeSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def status_update(self, request, pk=None, **kwargs):
        """Post a timeline entry: scheduled → in_progress → completed, or → cancelled; the same
        status with a message is a progress update. Illegal changes answer 409."""
        notice = self.get_object()  # 404 outside the scope, then 403 for customers
        ser = StatusUpdateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.post_status_update(
            notice,
            request.user,
            ser.validated_data["status"],
            ser.validated_data.get("message", ""),
        )  # an IllegalStatusChange answers 409 (pim.api.exception_handler)
        notice = queries.get_notice_for(request.user, notice.pk, detail=True)
        return Response(self.get_serializer(notice).data)


class SubscriptionSerializer(StrictFieldsMixin, ModelSerializer):
    organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all())
    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Subscription
        fields = ["id", "organization", "service", "created_at"]
        read_only_fields = ["id", "created_at"]

    def get_validators(self):
        return []  # subscribing twice is a no-op (services.subscribe), not a 400

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            fields["organization"].queryset = visible_organizations(user)
            fields["service"].queryset = Service.objects.filter(organization_filter(user))
        return fields

    def create(self, validated_data):
        try:
            subscription, _created = services.subscribe(
                self.context["request"].user,
                validated_data["organization"],
                validated_data.get("service"),
            )
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        return subscription


class SubscriptionViewSet(
    IdLookupMixin,
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's own maintenance subscriptions (per organisation, and optionally a service).
    Customers subscribe to their own organisation only."""

    serializer_class = SubscriptionSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Subscription.objects.none()
        return queries.own_subscriptions(self.request.user).order_by("pk")

    def perform_destroy(self, instance):
        services.unsubscribe(self.request.user, instance)
