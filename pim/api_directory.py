"""Read-only API for the directory: organisations, services, locations, memberships (DESIGN §5
style). The notifications API lives in escalation/api.py, the SLA figures in sla/api.py."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, viewsets

from .api import TenantScopedMixin
from .filters import parse_id
from .models import Location, Membership, Organization, Service
from .scoping import organization_filter, visible_organizations
from .serializers import ModelSerializer


class OrganizationSerializer(ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "phone", "is_active"]


class ServiceSerializer(ModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "organization", "name", "code"]


class LocationSerializer(ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "organization", "name", "address"]


class MembershipSerializer(ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.get_full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "name", "email", "role", "organization"]


def organization_param(value):
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
            qs = qs.filter(organization_id=organization_param(org))
        return qs


ORGANIZATION_PARAM = OpenApiParameter("organization", int, description="only this organisation")


@extend_schema(parameters=[ORGANIZATION_PARAM])
class ServiceViewSet(_PerOrganization):
    """Services (diensten) of the caller's organisation(s)."""

    model = Service
    serializer_class = ServiceSerializer


@extend_schema(parameters=[ORGANIZATION_PARAM])
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
