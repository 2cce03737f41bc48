"""`/api/v1/bundles/` (issue 18 item 3): prepaid hour bundles with their balance; a bundle's
detail carries its statement (purchase, recalculation, draws with their tickets);
`statement/` is an organisation's whole statement with its low-balance threshold, which its
authorised contacts set with PATCH. Provider managers register bundles (POST). Provider staff
read every organisation's, authorised contacts their own; customer users none (403), and
another organisation's bundle answers 404."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from pim import inputs
from pim.api import TenantScopedMixin
from pim.api_directory import ORGANIZATION_PARAM, organization_param
from pim.filters import parse_id
from pim.permissions import is_authorised_contact
from pim.scoping import visible_organizations

from . import bundles
from .models import BUNDLE_MAX_HOURS, BUNDLE_MIN_HOURS, Bundle


class LineSerializer(serializers.Serializer):
    date = serializers.DateField(source="day")
    kind = serializers.ChoiceField(choices=["purchase", "recalculation", "draw"])
    bundle = serializers.IntegerField(source="bundle.pk")
    minutes = serializers.IntegerField(help_text="Into the balance (+) or out of it (-).")
    balance_minutes = serializers.IntegerField(source="balance")
    ticket = serializers.SerializerMethodField()
    number = serializers.SerializerMethodField()
    time_entry = serializers.SerializerMethodField()

    def get_ticket(self, line) -> int | None:
        return line.draw.ticket_id if line.draw else None

    def get_number(self, line) -> str | None:
        return line.draw.ticket.number if line.draw else None

    def get_time_entry(self, line) -> int | None:
        return line.draw.entry_id if line.draw else None


class BundleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    organization = serializers.IntegerField(
        source="organization_id", min_value=1, max_value=inputs.MAX_ID
    )
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    hours = serializers.IntegerField(
        min_value=BUNDLE_MIN_HOURS,
        max_value=BUNDLE_MAX_HOURS,
        help_text=f"Hours bought: at least {BUNDLE_MIN_HOURS}.",
    )
    purchased_on = serializers.DateField(help_text="Not in the future; its year needs rates.")
    note = serializers.CharField(max_length=bundles.NOTE_MAX, required=False, allow_blank=True)
    rate = serializers.DecimalField(
        max_digits=8,
        decimal_places=2,
        read_only=True,
        help_text="The bundle rate of the purchase year (EUR per hour, excluding VAT).",
    )
    minutes = serializers.IntegerField(
        read_only=True, help_text="What the bundle holds (its hours, changed by recalculation)."
    )
    drawn_minutes = serializers.IntegerField(source="drawn", read_only=True)
    balance_minutes = serializers.SerializerMethodField()
    recalculated = serializers.SerializerMethodField()

    def get_balance_minutes(self, bundle) -> int:
        return bundle.minutes - bundle.drawn

    def get_recalculated(self, bundle) -> str | None:
        """The outcome of the recalculation 12 months after purchase, if done."""
        recalculation = getattr(bundle, "recalculation", None)
        return recalculation.outcome if recalculation is not None else None


class BundleDetailSerializer(BundleSerializer):
    statement = serializers.SerializerMethodField()

    @extend_schema_field(LineSerializer(many=True))
    def get_statement(self, bundle) -> list[dict]:
        lines = self.context.get("lines", [])
        return LineSerializer(lines, many=True).data


class StatementSerializer(serializers.Serializer):
    organization = serializers.IntegerField(source="organization.pk")
    organization_name = serializers.CharField(source="organization.name", max_length=200)
    balance_minutes = serializers.IntegerField(source="balance")
    low_balance_hours = serializers.IntegerField(source="threshold_hours", allow_null=True)
    bundles = BundleSerializer(many=True)
    lines = LineSerializer(many=True)


class ThresholdSerializer(serializers.Serializer):
    low_balance_hours = serializers.IntegerField(
        min_value=0,
        max_value=BUNDLE_MAX_HOURS,
        allow_null=True,
        help_text="Tell the authorised contacts when a draw brings the balance below this "
        "many hours (null: never).",
    )


@extend_schema(tags=["bundles"])
class BundleViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Prepaid hour bundles: provider staff all, authorised contacts their organisation's."""

    serializer_class = BundleSerializer
    filter_backends = []
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        if self.action == "retrieve":
            return BundleDetailSerializer
        if self.action == "statement":
            return StatementSerializer if self.request.method == "GET" else ThresholdSerializer
        return BundleSerializer

    def _require_reader(self):
        if not bundles.may_read_bundles(self.request.user):
            raise exceptions.PermissionDenied(
                "Hour bundles are read by authorised contacts and provider staff."
            )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Bundle.objects.none()
        qs = bundles.with_balance(bundles.bundles_for(self.request.user))
        org = self.request.query_params.get("organization")
        if org is not None and self.action == "list":
            qs = qs.filter(organization_id=organization_param(org))
        return qs.order_by("organization__name", "purchased_on", "pk")

    def get_object(self):
        if parse_id(self.kwargs.get("pk", "")) is None:
            raise exceptions.NotFound()
        return super().get_object()

    @extend_schema(parameters=[ORGANIZATION_PARAM])
    def list(self, request, *args, **kwargs):
        self._require_reader()
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        bundle = self.get_object()
        lines = [
            line
            for line in bundles.statement(bundle.organization).lines
            if line.bundle.pk == bundle.pk
        ]
        return Response(BundleDetailSerializer(bundle, context={"lines": lines}).data)

    def create(self, request, *args, **kwargs):
        if not bundles.may_register_bundles(request.user):
            raise exceptions.PermissionDenied("Provider managers register hour bundles.")
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        organization = (
            visible_organizations(request.user).filter(pk=data["organization_id"]).first()
        )
        if organization is None:
            raise exceptions.ValidationError({"organization": ["No such organisation."]})
        try:
            bundle = bundles.purchase(
                organization,
                request.user,
                hours=data["hours"],
                purchased_on=data["purchased_on"],
                note=data.get("note", ""),
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from exc
        bundle = bundles.with_balance(bundles.bundles_for(request.user)).get(pk=bundle.pk)
        return Response(BundleSerializer(bundle).data, status=status.HTTP_201_CREATED)

    def _organization(self):
        user = self.request.user
        org = self.request.query_params.get("organization")
        if org is None:
            if user.is_provider_staff:
                raise exceptions.ValidationError(
                    {"organization": ["Provider staff name the organisation."]}
                )
            return visible_organizations(user).get()
        return get_object_or_404(visible_organizations(user), pk=organization_param(org))

    @extend_schema(
        methods=["GET"],
        parameters=[ORGANIZATION_PARAM],
        responses=StatementSerializer,
        description="An organisation's statement: purchases, recalculations, draws with their "
        "tickets and the running balance, and the low-balance threshold. Provider staff name "
        "the organisation; an authorised contact reads their own.",
    )
    @extend_schema(
        methods=["PATCH"],
        parameters=[ORGANIZATION_PARAM],
        request=ThresholdSerializer,
        responses=StatementSerializer,
        description="The low-balance threshold in hours (authorised contacts).",
    )
    @action(detail=False, methods=["get", "patch"], url_path="statement")
    def statement(self, request, *args, **kwargs):
        self._require_reader()
        if request.method == "PATCH":
            if not is_authorised_contact(request.user):
                raise exceptions.PermissionDenied(
                    "An authorised contact chooses the organisation's low-balance threshold."
                )
            ser = ThresholdSerializer(data=request.data)
            ser.is_valid(raise_exception=True)
            organization = self._organization()
            bundles.set_threshold(
                organization, request.user, ser.validated_data["low_balance_hours"]
            )
        else:
            organization = self._organization()
        return Response(StatementSerializer(bundles.statement(organization)).data)
