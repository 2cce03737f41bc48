"""Read-only API for the directory (organisations, services, locations, memberships), the
caller's in-app notifications and the SLA compliance figures (DESIGN §5 style)."""

from datetime import date, datetime

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from .api import TenantScopedMixin
from .filters import MAX_ID, parse_id
from .models import Location, Membership, Organization, Service
from .scoping import organization_filter, visible_organizations


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "phone", "is_active"]


class ServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "organization", "name", "code"]


class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "organization", "name", "address"]


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.get_full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "name", "email", "role", "organization"]


def _organization_param(value):
    org_id = parse_id(value)
    if org_id is None:
        raise exceptions.ValidationError({"organization": ["A whole number."]})
    return org_id


class _ReadOnly(
    TenantScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    lookup_value_regex = r"\d+"


class OrganizationViewSet(_ReadOnly):
    """Organisations the caller may see: their own, or all for provider staff."""

    serializer_class = OrganizationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Organization.objects.none()
        return visible_organizations(self.request.user).order_by("name")


class _PerOrganization(_ReadOnly):
    model = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        qs = self.model.objects.filter(organization_filter(self.request.user)).order_by(
            "organization_id", "name"
        )
        org = self.request.query_params.get("organization", "")
        if org:
            qs = qs.filter(organization_id=_organization_param(org))
        return qs


_ORG_PARAM = OpenApiParameter("organization", int, description="only this organisation")


@extend_schema(parameters=[_ORG_PARAM])
class ServiceViewSet(_PerOrganization):
    """Services (diensten) of the caller's organisation(s)."""

    model = Service
    serializer_class = ServiceSerializer


@extend_schema(parameters=[_ORG_PARAM])
class LocationViewSet(_PerOrganization):
    """Locations of the caller's organisation(s)."""

    model = Location
    serializer_class = LocationSerializer


class MembershipViewSet(_ReadOnly):
    """Users and their roles: provider staff see everyone, an authorised contact the people of
    their own organisation; customer users may not list them."""

    serializer_class = MembershipSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        user = self.request.user
        qs = Membership.objects.select_related("user").order_by("user__username")
        if user.is_provider_staff:
            return qs
        if user.is_authorised_contact:
            return qs.filter(organization_filter(user))
        return qs.none()  # a member's page is a 404 like any other object

    def list(self, request, *args, **kwargs):
        if not (request.user.is_provider_staff or request.user.is_authorised_contact):
            raise exceptions.PermissionDenied()
        return super().list(request, *args, **kwargs)


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
        from escalation.models import Channel, Notification

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
        from escalation.services import mark_read

        ser = MarkReadSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        marked = mark_read(request.user, ser.validated_data.get("ids"))
        return Response({"marked": marked}, status=status.HTTP_200_OK)


class ComplianceRowSerializer(serializers.Serializer):
    month = serializers.DateTimeField()
    organization = serializers.CharField()
    priority = serializers.IntegerField()
    target = serializers.CharField()
    count = serializers.IntegerField()
    met = serializers.IntegerField()
    breached = serializers.IntegerField()
    open = serializers.IntegerField()
    share_within_target = serializers.FloatField(allow_null=True)
    average_restore_minutes = serializers.IntegerField(allow_null=True)
    average_goal_minutes = serializers.IntegerField(allow_null=True)


class ComplianceView(TenantScopedMixin, APIView):
    """Monthly SLA compliance per organisation, priority and target (managers; authorised
    contacts for their own organisation)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("since", str, description="first month, YYYY-MM"),
            _ORG_PARAM,
        ],
        responses=ComplianceRowSerializer(many=True),
    )
    def get(self, request):
        from sla.queries import compliance

        user = request.user
        if not (user.is_provider_staff or user.is_authorised_contact):
            raise exceptions.PermissionDenied()
        since = request.query_params.get("since")
        start = None
        if since:
            try:
                year, month = (int(p) for p in since.split("-"))
                start = timezone.make_aware(
                    datetime.combine(date(year, month, 1), datetime.min.time())
                )
            except (ValueError, OverflowError):
                raise exceptions.ValidationError({"since": ["Use YYYY-MM."]}) from None
        org = request.query_params.get("organization", "")
        org_id = _organization_param(org) if org else None
        rows = compliance(user, since=start, organization_id=org_id)
        return Response(ComplianceRowSerializer(rows, many=True).data)
