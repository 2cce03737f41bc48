"""REST API for tickets (DESIGN §5)."""

from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from pim import inputs
from pim.api import TenantScopedMixin
from pim.filters import parse_id
from pim.inputs import DateTimeApiField
from pim.models import WORKER_ROLES, Location, Organization, Service, User
from pim.pagination import KeysetPagination
from pim.parsers import FormParser, JSONParser, MultiPartParser
from pim.permissions import IsProviderStaff, require_staff
from pim.scoping import organization_filter, visible_organizations
from pim.serializers import ModelSerializer

from . import extensions, links, participation, queries, services
from .filters import TicketFilter
from .models import (
    WORKAROUND_STATUS_CHOICES,
    Channel,
    LinkRole,
    Priority,
    ResolutionType,
    SatisfactionRating,
    Status,
    Ticket,
    TicketLink,
    Visibility,
)


class StrictFieldsMixin:
    """Refuse fields the caller may not write instead of silently ignoring them."""

    def validate(self, attrs):
        initial = getattr(self, "initial_data", None)
        if hasattr(initial, "keys"):
            writable = {n for n, f in self.fields.items() if not f.read_only}
            refused = sorted(set(initial.keys()) - writable)
            if refused:
                raise serializers.ValidationError(
                    {name: ["This field is read-only or unknown."] for name in refused}
                )
        return super().validate(attrs)


# What a customer may not write, with the reason (StrictFieldsMixin's generic answer otherwise).
CUSTOMER_REFUSALS = {
    "channel": "The channel is recorded by PIM: a ticket filed through the API has channel "
    "api. Only service desk staff record another channel.",
    "reporter": "You file tickets for yourself; only service desk staff register a ticket "
    "for a caller.",
    "detected_at": "Only service desk staff and monitoring integrations give a detection time.",
}


class SlaClockSerializer(serializers.Serializer):
    target = serializers.ChoiceField(
        choices=["response", "restore", "resolution", "pickup", "quote_notice", "quote"]
    )
    due_at = serializers.DateTimeField(allow_null=True)
    paused = serializers.BooleanField()
    state = serializers.ChoiceField(choices=["pending", "at_risk", "met", "breached"])
    business_seconds_used = serializers.IntegerField()


class TicketLinkSerializer(serializers.Serializer):
    """A link as one of its tickets reads it: `kind` from this ticket's side (A duplicate_of B
    reads duplicated_by on B), `ticket` and `number` the other ticket."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=LinkRole.choices)
    ticket = serializers.IntegerField(
        min_value=1, max_value=inputs.MAX_ID, help_text="The other ticket's id."
    )
    number = serializers.CharField(read_only=True)


def link_data(row):
    other = row["ticket"]
    return {"id": row["link"].pk, "kind": row["role"].value, "ticket": other.pk,
            "number": other.number}  # fmt: skip


class CallerScopedField(serializers.PrimaryKeyRelatedField):
    """A primary key among the rows the caller may see (`scope(user, queryset)`): narrowed when
    a value is checked, not each time a serializer is made (a response builds one too)."""

    def __init__(self, scope, **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self):
        queryset = super().get_queryset()
        user = getattr(self.context.get("request"), "user", None)
        if user is None or not user.is_authenticated:
            return queryset
        return self.scope(user, queryset)


def _visible_organizations(user, queryset):
    return visible_organizations(user)


def _of_visible_organizations(user, queryset):
    return queryset.filter(organization_filter(user))


class TicketSerializer(StrictFieldsMixin, ModelSerializer):
    organization = CallerScopedField(
        _visible_organizations, queryset=Organization.objects.all(), required=False
    )
    service = CallerScopedField(
        _of_visible_organizations, queryset=Service.objects.all(), allow_null=True, required=False
    )
    location = CallerScopedField(
        _of_visible_organizations, queryset=Location.objects.all(), allow_null=True, required=False
    )
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(membership__role__in=WORKER_ROLES),
        allow_null=True,
        required=False,
    )
    reporter = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(membership__isnull=False),
        required=False,
        help_text="Username of the caller the ticket is registered for (service desk staff "
        "only; a person of the ticket's organisation). Defaults to the caller of the API.",
    )
    detected_at = DateTimeApiField(
        write_only=True,
        required=False,
        help_text="Channel monitoring: when the monitoring detected the incident; the response "
        "clock starts there (SPEC §4). Service desk staff only; not in the future.",
    )
    priority = serializers.ChoiceField(choices=Priority.choices, default=3)
    resolution_type = serializers.ChoiceField(
        choices=ResolutionType.choices, allow_blank=True, read_only=True
    )
    sla = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id", "number", "kind", "title", "description", "priority", "status", "channel",
            "organization", "service", "location", "reporter", "assignee",
            "reported_at", "responded_at", "resolved_at", "closed_at",
            "resolution_type", "resolution_cause", "resolution_how", "resolution_follow_up",
            "workaround_at", "workaround_text",
            "sla_not_applicable", "sla_not_applicable_reason", "sla", "updated_at",
            "detected_at", "links",
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "status", "reported_at", "responded_at", "resolved_at",
            "closed_at", "resolution_type", "resolution_cause", "resolution_how",
            "resolution_follow_up", "workaround_at", "workaround_text", "sla_not_applicable",
            "sla_not_applicable_reason", "updated_at",
        ]  # fmt: skip
        extra_kwargs = {"description": {"max_length": inputs.DESCRIPTION_MAX}}
        # A ticket has no unique_together or constraint over several fields (its number is unique
        # and read-only): DRF would look for them on every request (0.26 ms) to find none.
        validators = []

    def get_fields(self):
        fields = super().get_fields()
        for part in extensions.api_parts():  # read-only fields upper apps add (changes)
            fields[part.name] = part.field()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return fields
        if not user.is_worker:
            for name in ("assignee", "channel", "organization", "reporter", "detected_at"):
                fields[name].read_only = True
        if self.instance is not None:
            for name in ("kind", "organization", "priority", "reporter", "detected_at"):
                fields[name].read_only = True  # priority changes need a reason: …/priority/
        return fields

    def validate(self, attrs):
        initial = getattr(self, "initial_data", None)
        user = getattr(self.context.get("request"), "user", None)
        if hasattr(initial, "keys") and user is not None and not user.is_worker:
            refused = {
                name: [message] for name, message in CUSTOMER_REFUSALS.items() if name in initial
            }
            if refused:
                raise serializers.ValidationError(refused)
        attrs = super().validate(attrs)
        if "detected_at" in attrs and attrs.get("channel") != Channel.MONITORING:
            raise serializers.ValidationError(
                {"detected_at": ["Only a ticket with channel monitoring has a detection time."]}
            )
        return attrs

    @extend_schema_field(SlaClockSerializer(many=True))
    def get_sla(self, ticket):
        return [
            {
                "target": c.target,
                "due_at": c.due_at,
                "paused": c.paused,
                "state": c.state,
                "business_seconds_used": c.used_seconds,
            }
            for c in extensions.clock_read().clocks(
                ticket, self.context.get("now"), self.context.setdefault("calendars", {})
            )
        ]

    @extend_schema_field(TicketLinkSerializer(many=True))
    def get_links(self, ticket):
        user = getattr(self.context.get("request"), "user", None)
        return [link_data(row) for row in links.links_of(ticket, user)]

    def create(self, validated_data):
        user = self.context["request"].user
        validated_data.setdefault("channel", Channel.API)  # the API records itself
        if "detected_at" in validated_data:
            validated_data["reported_at"] = validated_data.pop("detected_at")
        ticket = services.create_ticket(actor=user, **validated_data)
        ticket.visible_links_out = ticket.visible_links_in = []  # a new ticket has no links
        return ticket

    def validate_detected_at(self, value):
        if value > timezone.now():
            raise serializers.ValidationError("The moment of detection cannot be in the future.")
        return value

    def update(self, instance, validated_data):
        return services.update_ticket(instance, self.context["request"].user, **validated_data)


class WorkaroundSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=inputs.RESOLUTION_TEXT_MAX)
    status = serializers.ChoiceField(
        choices=WORKAROUND_STATUS_CHOICES,
        help_text="The status the ticket continues in while the definitive fix is awaited.",
    )


class TransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=inputs.UPDATE_BODY_MAX
    )
    wish_date = DateTimeApiField(required=False)
    resolution_type = serializers.ChoiceField(choices=ResolutionType.choices, required=False)
    resolution_cause = serializers.CharField(
        required=False, allow_blank=True, max_length=inputs.RESOLUTION_TEXT_MAX
    )
    resolution_how = serializers.CharField(
        required=False, allow_blank=True, max_length=inputs.RESOLUTION_TEXT_MAX
    )
    resolution_follow_up = serializers.CharField(
        required=False, allow_blank=True, max_length=inputs.RESOLUTION_TEXT_MAX
    )
    resolved_at = DateTimeApiField(required=False)


class PrioritySerializer(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)
    reason = serializers.CharField(max_length=inputs.REASON_MAX)


class UpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    author = serializers.CharField(source="author.username", read_only=True, default=None)
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.PUBLIC)
    body = serializers.CharField(max_length=inputs.UPDATE_BODY_MAX)
    next_actions = serializers.CharField(
        required=False, allow_blank=True, max_length=inputs.NEXT_ACTIONS_MAX
    )
    expected_resolution_at = DateTimeApiField(required=False, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    file = serializers.FileField(write_only=True)
    internal = serializers.BooleanField(default=False)
    original_name = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, attachment) -> str:
        return reverse("attachment-download", kwargs={"pk": attachment.pk})


class WatcherSerializer(serializers.Serializer):
    user = serializers.CharField(
        source="user.username", max_length=150, help_text="The colleague's username."
    )
    name = serializers.SerializerMethodField()
    added_at = serializers.DateTimeField(read_only=True)

    def get_name(self, watcher) -> str:
        return watcher.user.get_full_name() or watcher.user.username


class WatcherRefSerializer(serializers.Serializer):
    user = serializers.CharField(max_length=150, help_text="The colleague's username.")


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=inputs.REASON_MAX)


class RatingSerializer(serializers.Serializer):
    ticket = serializers.CharField(source="ticket.number", read_only=True)
    score = serializers.IntegerField(
        min_value=1,
        max_value=5,
        allow_null=True,
        help_text="1 (poor) to 5 (excellent); null: not rated yet.",
    )
    comment = serializers.CharField(required=False, allow_blank=True, max_length=inputs.REASON_MAX)
    agent = serializers.CharField(source="agent.username", read_only=True, allow_null=True)
    rated_at = serializers.DateTimeField(read_only=True, allow_null=True)


def _colleague(ticket, username):
    """A user of the ticket's organisation by username, else a 400 that reveals nothing."""
    user = User.objects.filter(
        username=username, membership__organization_id=ticket.organization_id
    ).first()
    if user is None:
        raise serializers.ValidationError({"user": ["Choose a colleague of this organisation."]})
    return user


def ticket_response(ticket, context):
    """The ticket as the API shows it, after a write (also for actions other apps own)."""
    # the prefetched clocks are stale after a write: let the sla field read them afresh
    ticket._prefetched_objects_cache = {}
    return Response(TicketSerializer(ticket, context=context).data)


class TicketViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Tickets the caller may see: customers their own (authorised contacts their
    organisation's), provider staff all. Anything else answers 404."""

    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    # keyset pages at any depth (the list, and each ticket's updates and attachments)
    pagination_class = KeysetPagination
    lookup_value_regex = r"\d+"
    ordering_fields = ["reported_at", "priority", "status", "number", "updated_at", "next_due_at"]
    # next_due_at: the most urgent live clock's due time (the SLA summary); none sorts last
    ordering_nulls_last = ("next_due_at",)
    ordering = ["-reported_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Ticket.objects.none()
        queryset = queries.ticket_list(self.request.user)
        if self.action != "list":
            # One ticket (a read, a write, or its updates): its representation reads its clocks,
            # links and parts when it asks, in fewer queries than a page's prefetches (links
            # in one instead of two, the change path only for a change) and none that a write
            # makes stale. Measured: a GET of one ticket 12.8 ms of CPU with the prefetches.
            return queryset
        queryset = queries.for_api_page(queryset)
        queryset = extensions.clock_read().api_rows(queryset)
        queryset = links.with_links(queryset, self.request.user)
        for part in extensions.api_parts():
            queryset = part.rows(queryset)
        return queryset

    def filter_queryset(self, queryset):
        """The list's filters, search and ordering; one ticket is found by its id alone (the
        filter set alone cost a GET of one ticket a sixth of its time)."""
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def _ticket_response(self, ticket):
        return ticket_response(ticket, self.get_serializer_context())

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(request=TransitionSerializer, responses=TicketSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None, **kwargs):
        ticket = self.get_object()
        ser = TransitionSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        resolution = {
            k: data[k]
            for k in ("resolution_type", "resolution_cause", "resolution_how",
                      "resolution_follow_up", "resolved_at")
            if k in data
        }  # fmt: skip
        ticket = services.transition(
            ticket,
            request.user,
            data["status"],
            note=data.get("note", ""),
            resolution=resolution,
            wish_date=data.get("wish_date"),
        )
        return self._ticket_response(ticket)

    @extend_schema(request=WorkaroundSerializer, responses=TicketSerializer)
    @action(detail=True, methods=["post"])
    def workaround(self, request, pk=None, **kwargs):
        """A workaround is in place: the restore clock stops, the ticket stays open (planned
        internal or waiting for supplier) and the customer is told; resolve it later with the
        definitive fix."""
        ticket = self.get_object()
        ser = WorkaroundSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        ticket = services.record_workaround(
            ticket, request.user, ser.validated_data["text"], ser.validated_data["status"]
        )
        return self._ticket_response(ticket)

    @extend_schema(request=PrioritySerializer, responses=TicketSerializer)
    @action(detail=True, methods=["post"])
    def priority(self, request, pk=None, **kwargs):
        ticket = self.get_object()
        ser = PrioritySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        ticket = services.change_priority(
            ticket, request.user, ser.validated_data["priority"], ser.validated_data["reason"]
        )
        return self._ticket_response(ticket)

    @extend_schema(request=None, responses=TicketSerializer)
    @action(detail=True, methods=["post"])
    def take(self, request, pk=None, **kwargs):
        ticket = services.take(self.get_object(), request.user)
        return self._ticket_response(ticket)

    @extend_schema(methods=["get"], responses=UpdateSerializer(many=True))
    @extend_schema(methods=["post"], request=UpdateSerializer, responses={201: UpdateSerializer})
    @action(detail=True, methods=["get", "post"], serializer_class=UpdateSerializer)
    def updates(self, request, pk=None, **kwargs):
        ticket = self.get_object()
        if request.method == "GET":
            qs = queries.updates_for(ticket, request.user)
            page = self.paginate_queryset(qs)
            return self.get_paginated_response(UpdateSerializer(page, many=True).data)
        ser = UpdateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        update = services.add_update(ticket, request.user, **ser.validated_data)
        return Response(UpdateSerializer(update).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses=WatcherSerializer(many=True))
    @extend_schema(
        methods=["post"], request=WatcherRefSerializer, responses={201: WatcherSerializer}
    )
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=WatcherSerializer,
        pagination_class=None,  # a handful of people: a plain list (and so in the schema)
    )
    def watchers(self, request, pk=None, **kwargs):
        """The colleagues who follow the ticket; the reporter or an authorised contact adds one
        (agents on tickets registered by phone, e-mail or chat)."""
        ticket = self.get_object()
        if request.method == "GET":
            rows = ticket.watchers.select_related("user")
            return Response(WatcherSerializer(rows, many=True).data)
        ser = WatcherRefSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        user = _colleague(ticket, ser.validated_data["user"])
        watcher, created = participation.add_watcher(ticket, request.user, user)
        return Response(
            WatcherSerializer(watcher).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(request=WatcherRefSerializer, responses={204: None})
    @action(
        detail=True,
        methods=["post"],
        url_path="watchers/remove",
        serializer_class=WatcherRefSerializer,
    )
    def remove_watcher(self, request, pk=None, **kwargs):
        ticket = self.get_object()
        ser = WatcherRefSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        participation.remove_watcher(
            ticket, request.user, _colleague(ticket, ser.validated_data["user"])
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=WithdrawSerializer, responses=TicketSerializer)
    @action(detail=True, methods=["post"], serializer_class=WithdrawSerializer)
    def withdraw(self, request, pk=None, **kwargs):
        """The reporter withdraws the ticket while no work has started: it is closed."""
        ticket = self.get_object()
        ser = WithdrawSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        ticket = participation.withdraw(ticket, request.user, ser.validated_data.get("reason", ""))
        return self._ticket_response(ticket)

    @extend_schema(methods=["get"], responses=RatingSerializer)
    @extend_schema(methods=["post"], request=RatingSerializer, responses={201: RatingSerializer})
    @action(detail=True, methods=["get", "post"], serializer_class=RatingSerializer)
    def rating(self, request, pk=None, **kwargs):
        """The reporter rates a closed ticket once (1–5, an optional comment)."""
        ticket = self.get_object()
        if request.method == "GET":
            rating = SatisfactionRating.objects.filter(ticket=ticket).first()
            if rating is None:  # not rated (yet): everything empty
                rating = SatisfactionRating(ticket=ticket, score=None, rated_at=None)
            return Response(RatingSerializer(rating).data)
        ser = RatingSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        rating = participation.rate(
            ticket,
            request.user,
            ser.validated_data["score"],
            ser.validated_data.get("comment", ""),
        )
        return Response(RatingSerializer(rating).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TicketLinkSerializer, responses={201: TicketLinkSerializer})
    @action(detail=True, methods=["post"], url_path="links", serializer_class=TicketLinkSerializer)
    def add_link(self, request, pk=None, **kwargs):
        """Link this ticket to another (provider staff): `kind` as read from this ticket
        (related, caused_by, causes, duplicate_of, duplicated_by, parent_of, child_of). Marking
        a ticket duplicate_of another closes it with a pointer, and its reporter follows the
        original. The same link again answers 200 with it."""
        ticket = self.get_object()
        require_staff(request.user, "Only the service desk links tickets.")
        ser = TicketLinkSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        other = links.find_ticket(request.user, pk=ser.validated_data["ticket"])
        if other is None:
            raise serializers.ValidationError({"ticket": ["No such ticket."]})
        link, created = links.add_link(ticket, request.user, other, ser.validated_data["kind"])
        row = {"link": link, "role": link.role_from(ticket.pk), "ticket": link.other(ticket.pk)}
        return Response(
            TicketLinkSerializer(link_data(row)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(request=None, responses={204: None})
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"links/(?P<link_id>\d+)",
        serializer_class=TicketLinkSerializer,
    )
    def remove_link(self, request, pk=None, link_id=None, **kwargs):
        """Remove a link of this ticket (provider staff)."""
        ticket = self.get_object()
        require_staff(request.user, "Only the service desk links tickets.")
        link = TicketLink.objects.filter(
            Q(source=ticket) | Q(target=ticket), pk=parse_id(link_id)
        ).first()
        if link is None:
            raise Http404
        links.remove_link(ticket, request.user, link)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["get"], responses=AttachmentSerializer(many=True))
    @extend_schema(
        methods=["post"],
        request={"multipart/form-data": AttachmentSerializer},
        responses={201: AttachmentSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=AttachmentSerializer,
        parser_classes=[MultiPartParser, FormParser, JSONParser],
    )
    def attachments(self, request, pk=None, **kwargs):
        ticket = self.get_object()
        if request.method == "GET":
            qs = queries.attachments_for(ticket, request.user)
            page = self.paginate_queryset(qs)
            return self.get_paginated_response(AttachmentSerializer(page, many=True).data)
        ser = AttachmentSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        attachment = services.add_attachment(
            ticket,
            request.user,
            ser.validated_data["file"],
            internal=ser.validated_data["internal"],
        )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class SatisfactionViewSet(TenantScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Satisfaction ratings of closed tickets, newest first, per ticket and agent (provider
    staff only: the managers' dashboard)."""

    serializer_class = RatingSerializer
    permission_classes = [IsProviderStaff]
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SatisfactionRating.objects.none()
        return (
            SatisfactionRating.objects.filter(
                ticket__in=Ticket.objects.visible_to(self.request.user)
            )
            .select_related("ticket", "agent")
            .order_by("-rated_at", "-pk")
        )
