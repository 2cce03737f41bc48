"""REST API of the sla app: the agent actions on a ticket's clocks and the compliance figures.

`POST /api/v1/tickets/{id}/no-access/` and `…/sla-not-applicable/` are routed in pim/urls.py
ahead of the ticket router (like escalation's `…/escalate/`), so sla owns its API.
"""

from datetime import date, datetime, timedelta

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from pim import inputs
from pim.api import TenantScopedMixin
from pim.api_directory import ORGANIZATION_PARAM, organization_param
from pim.filters import parse_id
from pim.inputs import DateTimeApiField
from pim.parsers import FormParser, JSONParser, MultiPartParser
from pim.permissions import IsStaffForWrites
from pim.routers import replica_reads
from pim.serializers import ModelSerializer
from tickets import queries as ticket_queries
from tickets.api import StrictFieldsMixin, TicketSerializer, ticket_response
from tickets.models import Ticket

from . import availability_queries, documents, majorchange, monthly, outages, services
from .models import (
    Contract,
    MonthlyReport,
    RouteState,
    ServiceKind,
    SlaDocumentVersion,
    SlaPolicy,
)
from .queries import compliance


class NoAccessSerializer(serializers.Serializer):
    start_at = DateTimeApiField()
    end_at = DateTimeApiField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=inputs.SHORT_NOTE_MAX)


class SlaNotApplicableSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class _TicketAction(TenantScopedMixin, GenericAPIView):
    """A POST on one ticket the caller may see (404 otherwise); answers the ticket."""

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Ticket.objects.none()
        return ticket_queries.ticket_list(self.request.user)

    def ticket_and_data(self, request, pk):
        ticket = get_object_or_404(self.get_queryset(), pk=pk)
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return ticket, ser.validated_data

    def respond(self, ticket):
        return ticket_response(ticket, {**self.get_serializer_context(), "now": timezone.now()})


class TicketNoAccessView(_TicketAction):
    serializer_class = NoAccessSerializer

    @extend_schema(request=NoAccessSerializer, responses=TicketSerializer)
    def post(self, request, pk):
        """Record an interval without access to the customer's premises: the clocks pause."""
        ticket, data = self.ticket_and_data(request, pk)
        services.record_no_access(ticket, request.user, **data)
        return self.respond(ticket)


class TicketSlaNotApplicableView(_TicketAction):
    serializer_class = SlaNotApplicableSerializer

    @extend_schema(request=SlaNotApplicableSerializer, responses=TicketSerializer)
    def post(self, request, pk):
        """Mark the ticket "SLA not applicable" with a reason; it leaves the compliance figures."""
        ticket, data = self.ticket_and_data(request, pk)
        ticket = services.set_sla_not_applicable(ticket, request.user, **data)
        return self.respond(ticket)


# --- outages and availability (SPEC §9) -------------------------------------------------------


class OutageSerializer(serializers.Serializer):
    starts_at = DateTimeApiField(
        allow_null=True, help_text="As the agent set it; null: the incident's registration."
    )
    ends_at = DateTimeApiField(
        allow_null=True, help_text="As the agent set it; null: the restore moment."
    )
    start = DateTimeApiField(help_text="The start the availability figures count.")
    end = DateTimeApiField(
        allow_null=True, help_text="The end the figures count; null: not restored yet (now)."
    )
    counted = serializers.BooleanField(
        help_text='False when the incident is marked "SLA not applicable".'
    )


@extend_schema_field(OutageSerializer(allow_null=True))
class TicketOutageField(serializers.Field):
    """`outage` on a ticket: the outage of its service an incident marks, else null."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, ticket):
        view = outages.outage_view(ticket)
        return None if view is None else OutageSerializer(view).data


def with_outage_rows(queryset):
    """The outages of a page of tickets (and the clocks their ends default to): two queries."""
    # "clocks" without a queryset: the API's clock read path prefetches them already
    return queryset.prefetch_related("outage", "clocks")


class OutageMarkSerializer(serializers.Serializer):
    marked = serializers.BooleanField(
        default=True, help_text="false: the incident marks no outage (any more)."
    )
    starts_at = DateTimeApiField(
        required=False, allow_null=True, default=None, help_text="Empty: the registration."
    )
    ends_at = DateTimeApiField(
        required=False, allow_null=True, default=None, help_text="Empty: the restore moment."
    )


class TicketOutageView(_TicketAction):
    serializer_class = OutageMarkSerializer

    @extend_schema(request=OutageMarkSerializer, responses=TicketSerializer)
    def post(self, request, pk):
        """Staff mark the outage of the incident's service (SPEC §9), correct its times, or
        (`marked: false`) take the mark away. Audited on the ticket."""
        ticket, data = self.ticket_and_data(request, pk)
        if data["marked"]:
            outages.mark_outage(ticket, request.user, data["starts_at"], data["ends_at"])
        else:
            outages.clear_outage(ticket, request.user)
        return self.respond(get_object_or_404(self.get_queryset(), pk=pk))  # afresh


class AvailabilitySerializer(serializers.Serializer):
    service = serializers.IntegerField(source="service_id")
    name = serializers.CharField(max_length=200)
    organization = serializers.IntegerField(source="organization_id")
    kind = serializers.ChoiceField(choices=ServiceKind.choices)
    month = serializers.SerializerMethodField()
    scheduled_seconds = serializers.SerializerMethodField()
    downtime_seconds = serializers.SerializerMethodField()
    availability = serializers.FloatField(help_text="1 - downtime / scheduled, 0–1.")
    target = serializers.FloatField(help_text="The yearly target, 0–1.")
    met = serializers.BooleanField(help_text="The year to date reaches the yearly target.")
    year_to_date = serializers.FloatField(help_text="Availability from 1 January, 0–1.")

    def get_month(self, row) -> str:
        return row.month.strftime("%Y-%m")

    def get_scheduled_seconds(self, row) -> int:
        return int(row.scheduled.total_seconds())

    def get_downtime_seconds(self, row) -> int:
        return int(row.downtime.total_seconds())


class AvailabilityView(TenantScopedMixin, APIView):
    """Availability per service in a month (SPEC §9): the open time of its service window, the
    downtime (its outages, minus announced and emergency maintenance), the ratio against the
    service's yearly target and the year to date. Provider staff read all services; authorised
    contacts their organisation's; anybody else 403."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "month", str, description="YYYY-MM (Europe/Amsterdam). Default: this month."
            ),
            ORGANIZATION_PARAM,
            OpenApiParameter("service", int, description="One service (its id)."),
        ],
        responses=AvailabilitySerializer(many=True),
    )
    @replica_reads()  # a report: the read replica, where one is configured
    def get(self, request):
        user = request.user
        if not (user.is_provider_staff or user.is_authorised_contact):
            raise exceptions.PermissionDenied()
        params = request.query_params
        if "month" in params:
            month = inputs.parse_month(params["month"])
            if month is None:
                raise exceptions.ValidationError({"month": [inputs.month_message()]})
        else:
            month = timezone.localdate().replace(day=1)
        org = params.get("organization", "")
        org_id = organization_param(org) if org else None
        service_id = None
        if params.get("service", ""):
            service_id = parse_id(params["service"])
            if service_id is None:
                raise exceptions.ValidationError({"service": ["A whole number."]})
        rows = availability_queries.figures(
            availability_queries.visible_services(user, org_id, service_id), month
        )
        return Response(AvailabilitySerializer(rows, many=True).data)


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


def previous_month(today):
    """The first day of the month before `today`'s."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


class ComplianceView(TenantScopedMixin, APIView):
    """Monthly SLA compliance per organisation, priority and target (managers; authorised
    contacts for their own organisation)."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since",
                str,
                description=(
                    "First month, YYYY-MM. Default: the previous month, so the previous and the "
                    "current month are answered (a bounded period at any number of tickets)."
                ),
            ),
            ORGANIZATION_PARAM,
        ],
        responses=ComplianceRowSerializer(many=True),
    )
    @replica_reads()  # a report: the read replica, where one is configured
    def get(self, request):
        user = request.user
        if not (user.is_provider_staff or user.is_authorised_contact):
            raise exceptions.PermissionDenied()
        since = request.query_params.get("since")
        if since:
            month = inputs.parse_month(since)
            if month is None:
                raise exceptions.ValidationError({"since": [inputs.month_message()]})
        else:
            month = previous_month(timezone.localdate())
        start = timezone.make_aware(datetime.combine(month, datetime.min.time()))
        org = request.query_params.get("organization", "")
        org_id = organization_param(org) if org else None
        rows = compliance(user, since=start, organization_id=org_id)
        return Response(ComplianceRowSerializer(rows, many=True).data)


# --- the SLA document's versions (SPEC §11) --------------------------------------------------


class MajorChangeSerializer(serializers.Serializer):
    """A Major Change's route (SPEC §11): its state today, deadlines (dates, the last day a
    step may be taken), what each side recorded, and the steps the caller may take now."""

    state = serializers.ChoiceField(
        choices=[*RouteState.values, "no_agreement"],
        help_text="notice, accepted, objected, consulted, agreed, no_agreement (the customer "
        "may terminate), terminated or lapsed.",
    )
    marked_by_provider = serializers.BooleanField()
    longer_targets = serializers.ListField(
        child=serializers.CharField(),
        help_text='Targets longer than in the policy replaced, e.g. "incident P1 response".',
    )
    objection_due = serializers.DateField()
    consultation_due = serializers.DateField(allow_null=True)
    agreement_due = serializers.DateField(allow_null=True)
    termination_due = serializers.DateField(allow_null=True)
    objected_at = serializers.DateTimeField(allow_null=True)
    objection_reason = serializers.CharField(allow_blank=True)
    consulted_at = serializers.DateTimeField(allow_null=True)
    consultation = serializers.CharField(allow_blank=True)
    agreed_at = serializers.DateTimeField(allow_null=True)
    agreed_on = serializers.DateField(allow_null=True)
    terminated_at = serializers.DateTimeField(allow_null=True)
    terminates_on = serializers.DateField(allow_null=True)
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=majorchange.ACTIONS),
        help_text="The steps the caller may take now (POST …/route/).",
    )


class SlaDocumentSerializer(StrictFieldsMixin, ModelSerializer):
    """A version of an organisation's SLA document. Provider staff register one with a
    multipart POST (contract, number, date, description, document, policy, effective_from);
    a notice under 3 calendar months, a file that is no PDF or a number used twice answer 400."""

    organization = serializers.IntegerField(source="contract.organization_id", read_only=True)
    contract = serializers.PrimaryKeyRelatedField(queryset=Contract.objects.all())
    policy = serializers.PrimaryKeyRelatedField(
        queryset=SlaPolicy.objects.all(), allow_null=True, required=False
    )
    policy_name = serializers.CharField(source="policy.name", read_only=True, default=None)
    document = serializers.FileField(write_only=True)
    file_name = serializers.CharField(source="original_name", read_only=True)
    download_url = serializers.SerializerMethodField()
    applies_from = serializers.SerializerMethodField(
        help_text="The date the version applies from, as known today (null: a Major Change "
        "route still open). A termination keeps the old terms until it takes effect."
    )
    marked_major_change = serializers.BooleanField(
        source="major_change",
        required=False,
        help_text="The provider marks the version a Major Change (the portal also marks it "
        "when a target of its policy gets longer).",
    )
    major_change = serializers.SerializerMethodField()

    class Meta:
        model = SlaDocumentVersion
        fields = [
            "id",
            "organization",
            "contract",
            "number",
            "date",
            "description",
            "policy",
            "policy_name",
            "effective_from",
            "announced_at",
            "applies_from",
            "marked_major_change",
            "major_change",
            "document",
            "file_name",
            "download_url",
        ]
        read_only_fields = ["id", "announced_at"]

    def get_validators(self):
        return []  # the model's full_clean (register_version) answers a number used twice

    def get_download_url(self, obj) -> str:
        return reverse("api-sla-document-download", args=[obj.pk])

    def get_applies_from(self, obj) -> date | None:
        return majorchange.applies_on(obj, timezone.localdate())

    @extend_schema_field(MajorChangeSerializer(allow_null=True))
    def get_major_change(self, obj):
        route = majorchange.status(obj, self.context["request"].user, timezone.localdate())
        return None if route is None else MajorChangeSerializer(route).data

    def create(self, validated_data):
        return documents.register_version(
            validated_data.pop("contract"), self.context["request"].user, **validated_data
        )


class StaffRegistersVersions(IsStaffForWrites):
    """Only provider staff register a version (customers: 403); any other write is no route
    here (405), decided after nothing is looked up."""

    def has_permission(self, request, view):
        return view.action != "create" or super().has_permission(request, view)


class SlaDocumentViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """The SLA document's versions: authorised contacts read their organisation's, provider
    staff all (and register new ones); anybody else reads none, and another organisation's
    version answers 404."""

    serializer_class = SlaDocumentSerializer
    permission_classes = [IsAuthenticated, StaffRegistersVersions]
    http_method_names = ["get", "post", "head", "options"]
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SlaDocumentVersion.objects.none()
        return documents.versions_for(self.request.user)

    def get_object(self):
        if parse_id(self.kwargs.get("pk", "")) is None:
            raise exceptions.NotFound()
        return super().get_object()

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path="download")
    def download(self, request, pk=None, **kwargs):
        """The version's PDF, as a download."""
        return document_response(self.get_object())


class DateApiField(serializers.DateField):
    """An API date within the supported range (1970–8999)."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if not (inputs.EARLIEST.date() <= parsed < date(8999, 12, 31)):
            raise serializers.ValidationError(inputs.instant_range_message(), code="out_of_range")
        return parsed


class RouteStepSerializer(serializers.Serializer):
    """One step of a Major Change route: `object` (authorised contacts, within 30 days of the
    notice, with a `reason`), `consult` (the provider's managers, within 14 days of the
    objection, with a `note`), `agree` (either side, within the agreement term; `applies_on`
    an agreed date, else the version applies as planned), `terminate` (authorised contacts,
    within 30 days after the agreement term ended without agreement; `terminates_on` at most 3
    months ahead, default exactly 3). Wrong role 403, not now 409 (the reason names the
    deadline), bad input 400."""

    action = serializers.ChoiceField(choices=majorchange.ACTIONS)
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=inputs.DESCRIPTION_MAX
    )
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=inputs.DESCRIPTION_MAX
    )
    applies_on = DateApiField(required=False, allow_null=True)
    terminates_on = DateApiField(required=False, allow_null=True)


class SlaChangeRequestSerializer(serializers.Serializer):
    """An authorised contact asks for a change of the SLA: it becomes a question ticket."""

    title = serializers.CharField(max_length=150)
    description = serializers.CharField(max_length=inputs.DESCRIPTION_MAX)


def _document_actions():
    """The route's step and the change request on the versions' viewset (added below)."""

    @extend_schema(request=RouteStepSerializer, responses=SlaDocumentSerializer)
    @action(detail=True, methods=["post"], url_path="route")
    def route(self, request, pk=None, **kwargs):
        """Take a step of the version's Major Change route."""
        version = self.get_object()
        ser = RouteStepSerializer(data=request.data)
        valid = ser.is_valid()
        action = request.data.get("action") if hasattr(request.data, "get") else None
        majorchange.require_role(request.user, version, action)
        if not valid:
            raise exceptions.ValidationError(ser.errors)
        data = dict(ser.validated_data)
        version = majorchange.take(version, request.user, data.pop("action"), **data)
        version = self.get_queryset().get(pk=version.pk)
        return Response(self.get_serializer(version).data)

    @extend_schema(request=SlaChangeRequestSerializer, responses={201: TicketSerializer})
    @action(detail=False, methods=["post"], url_path="change-request")
    def change_request(self, request, **kwargs):
        """Ask the provider for a change of the SLA (authorised contacts): a question ticket."""
        if not request.user.is_authorised_contact:
            raise exceptions.PermissionDenied()
        ser = SlaChangeRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        ticket = documents.request_change(request.user, **ser.validated_data)
        response = ticket_response(ticket, {**self.get_serializer_context(), "now": timezone.now()})
        response.status_code = 201
        return response

    return route, change_request


SlaDocumentViewSet.route, SlaDocumentViewSet.change_request = _document_actions()


def document_response(version):
    response = FileResponse(
        version.document.open("rb"),
        as_attachment=True,
        filename=version.original_name or f"sla-{version.number}.pdf",
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- the monthly SLA reports (issue 17 item 3) ------------------------------------------------


class MonthlyReportSerializer(ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    month = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()
    csv_url = serializers.SerializerMethodField()

    class Meta:
        model = MonthlyReport
        fields = [
            "id",
            "organization",
            "organization_name",
            "month",
            "language",
            "generated_at",
            "mailed_at",
            "pdf_url",
            "csv_url",
        ]
        read_only_fields = fields

    def get_month(self, obj) -> str:
        return obj.month.strftime("%Y-%m")

    def get_pdf_url(self, obj) -> str:
        return reverse("sla-report-pdf", args=[obj.pk])

    def get_csv_url(self, obj) -> str:
        return reverse("sla-report-csv", args=[obj.pk])


class MonthlyReportListView(TenantScopedMixin, ListAPIView):
    """The monthly SLA reports kept, newest month first: provider staff read every
    organisation's (`?organization=` narrows), authorised contacts their own; anybody else 403.
    The files are downloaded from `pdf_url` and `csv_url` (the portal's session or token)."""

    serializer_class = MonthlyReportSerializer
    filter_backends = []

    @extend_schema(parameters=[ORGANIZATION_PARAM])
    def get(self, request, *args, **kwargs):
        user = request.user
        if not (user.is_provider_staff or user.is_authorised_contact):
            raise exceptions.PermissionDenied(
                "Monthly reports are read by authorised contacts and provider staff."
            )
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MonthlyReport.objects.none()
        qs = monthly.reports_visible_to(self.request.user).select_related("organization")
        org = self.request.query_params.get("organization", "")
        if org:
            qs = qs.filter(organization_id=organization_param(org))
        return qs.order_by("-month", "organization__name", "pk")


REPORT_TYPES = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


def report_file_response(report, extension):
    """A report's PDF or CSV as a download named after the organisation and month."""
    field = report.pdf if extension == "pdf" else report.csv
    name = f"sla-report-{report.organization.slug or report.organization_id}-{report.month:%Y-%m}"
    response = FileResponse(
        field.open("rb"),
        as_attachment=True,
        filename=f"{name}.{extension}",
        content_type=REPORT_TYPES[extension],
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
