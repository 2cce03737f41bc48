"""REST API of the change path: the `change` object of a change ticket (an ApiPart of the ticket
API) and `POST /api/v1/tickets/{id}/change/` with an `action` (routed in pim/urls.py ahead of the
ticket router, like sla's and escalation's ticket actions).

The caller's role is checked first (403), then the change's stage (409 with the reason), then
the input (400); every action answers the ticket as `GET /api/v1/tickets/{id}/` does.
"""

from datetime import date

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView

from pim import inputs
from pim.api import TenantScopedMixin
from pim.inputs import DateTimeApiField
from tickets import queries as ticket_queries
from tickets.api import TicketSerializer, ticket_response
from tickets.models import Kind, Ticket

from . import services
from .models import (
    ESTIMATE_MAX,
    ApprovalSubject,
    ChangeApproval,
    ChangeDocument,
    ChangeRequest,
    ChangeType,
    Decision,
    DocumentKind,
    DocumentStatus,
    Route,
    Side,
    Stage,
)


class ChangeDocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DocumentStatus.choices)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    free = serializers.BooleanField()
    minutes = serializers.IntegerField(
        allow_null=True, help_text="An estimate's minutes (null on a quote or RFC)."
    )
    attachment = serializers.IntegerField(source="attachment_id", allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)


class ChangeApprovalSerializer(serializers.Serializer):
    what = serializers.ChoiceField(choices=ApprovalSubject.choices)
    version = serializers.IntegerField(allow_null=True)
    by = serializers.CharField(source="by.username")
    at = serializers.DateTimeField()
    decision = serializers.ChoiceField(choices=Decision.choices)
    side = serializers.ChoiceField(choices=Side.choices)
    note = serializers.CharField()


class ChangeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ChangeType.choices, allow_null=True)
    type_reason = serializers.CharField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    non_standard = serializers.BooleanField()
    raised_from = serializers.IntegerField(source="raised_from_id", allow_null=True)
    why = serializers.CharField()
    wished_date = serializers.DateField(allow_null=True)
    quote_due_at = serializers.DateTimeField(allow_null=True)
    quote_notice_at = serializers.DateTimeField(allow_null=True)
    quote_free = serializers.BooleanField(allow_null=True)
    planned_start = serializers.DateTimeField(allow_null=True)
    planned_end = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    estimate_minutes = serializers.IntegerField(
        allow_null=True, help_text="The provider's estimate of the work in minutes."
    )
    new_application = serializers.BooleanField(
        help_text="A new application or form: always through a quote."
    )
    estimated_at = serializers.DateTimeField(allow_null=True)
    route = serializers.ChoiceField(
        choices=Route.choices,
        allow_null=True,
        help_text=(
            "The route the estimate gives (seed 004): direct (under 45 minutes: done at once, "
            "then the customer approves the result on acceptance), estimate (45 minutes up to "
            "4 hours: the customer accepts the estimate before the work starts), quote (over 4 "
            "hours, a new application or form, a large or exceptional change); null before an "
            "estimate."
        ),
    )
    documents = ChangeDocumentSerializer(many=True)
    approvals = ChangeApprovalSerializer(many=True)

    def to_representation(self, change):
        data = super().to_representation(change)
        data["type"] = change.type or None
        if "documents" in data and not self.context.get("staff", False):  # drafts: provider's
            data["documents"] = [d for d in data["documents"] if d["status"] != "draft"]
        return data


@extend_schema_field(ChangeSerializer(allow_null=True))
class TicketChangeField(serializers.Field):
    """`change` on a ticket: the change object of a change ticket, null on other kinds."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, ticket):
        if ticket.kind != Kind.CHANGE:
            return None
        request = self.context.get("request")
        staff = bool(request is not None and getattr(request.user, "is_provider_staff", False))
        change = getattr(ticket, "change_request", None)
        if change is None:  # registered before the change path: not touched since
            change = ChangeRequest(
                ticket=ticket, quote_due_at=services.quote_due_from_receipt(ticket.reported_at)
            )
            serializer = ChangeSerializer(change)
            for name in ("documents", "approvals"):  # an unsaved row has no related rows
                del serializer.fields[name]
            return serializer.data | {"documents": [], "approvals": [], "type": None}
        return ChangeSerializer(change, context={"staff": staff}).data


def with_change_rows(queryset):
    """The change objects of a page of tickets in three queries, whatever the number of rows."""
    return queryset.prefetch_related(
        "change_request",
        Prefetch("change_request__documents", queryset=ChangeDocument.objects.order_by("version")),
        Prefetch(
            "change_request__approvals",
            queryset=ChangeApproval.objects.select_related("by").order_by("at", "pk"),
        ),
    )


def validate_day(value):
    if not (inputs.EARLIEST.date() <= value < date(8999, 12, 31)):
        raise serializers.ValidationError(inputs.instant_range_message(), code="out_of_range")
    return value


class ChangeActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=services.ACTIONS)
    type = serializers.ChoiceField(choices=ChangeType.choices, required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=inputs.REASON_MAX)
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=inputs.UPDATE_BODY_MAX
    )
    free = serializers.BooleanField(required=False, allow_null=True, default=None)
    date = serializers.DateField(
        required=False,
        validators=[validate_day],
        help_text="quote_notice: the date the quote will come (else the 10 days stand).",
    )
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    attachment = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=inputs.MAX_ID,
        help_text="An attachment id of the ticket.",
    )
    draft = serializers.BooleanField(
        required=False,
        default=False,
        help_text=(
            "quote: keep the version as a draft the customer does not see (saving again "
            "updates it); a later quote without draft sends it, with the fields given over "
            "the draft's."
        ),
    )
    version = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1,
        help_text=(
            "approve, reject, provider_approve, provider_reject: the version (default: the "
            "latest sent)."
        ),
    )  # fmt: skip
    planned_start = DateTimeApiField(required=False)
    planned_end = DateTimeApiField(required=False)
    estimate_minutes = serializers.IntegerField(
        required=False, min_value=1, max_value=ESTIMATE_MAX,
        help_text="estimate: the expected work in minutes (the route follows from it).",
    )  # fmt: skip
    new_application = serializers.BooleanField(
        required=False,
        default=False,
        help_text="estimate: a new application or form (always through a quote).",
    )


class TicketChangeView(TenantScopedMixin, GenericAPIView):
    serializer_class = ChangeActionSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Ticket.objects.none()
        return with_change_rows(ticket_queries.ticket_list(self.request.user))

    @extend_schema(request=ChangeActionSerializer, responses=TicketSerializer)
    def post(self, request, pk):
        """Take a step of the change path: classify, estimate, verify, quote_notice, quote
        (staff); approve, reject (authorised contact: the change, the latest quote, RFC or
        estimate sent, or the result on the acceptance environment); provider_approve,
        provider_reject with a `note` as the reason (provider manager, large changes); plan,
        start, progress, offer (on the acceptance environment), complete, cancel (staff)."""
        ticket = get_object_or_404(self.get_queryset(), pk=pk)
        ser = self.get_serializer(data=request.data)
        valid = ser.is_valid()
        action = request.data.get("action") if hasattr(request.data, "get") else None
        if not valid and (not isinstance(action, str) or action not in services.ACTIONS):
            ser.is_valid(raise_exception=True)  # no usable action: 400
        services.act(ticket, request.user, action, ser.validated_data if valid else {},
                     errors=None if valid else ser.errors)  # fmt: skip
        ticket = get_object_or_404(self.get_queryset(), pk=pk)
        return ticket_response(ticket, {**self.get_serializer_context(), "now": timezone.now()})
