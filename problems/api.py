"""REST API of problem management (issue 16's contract):

- `GET/POST /api/v1/problems/`, `GET/PATCH /api/v1/problems/{id}/` (the problem ticket's id),
  `POST /api/v1/problems/{id}/link/` `{"ticket": id}`: provider staff only; for everybody else
  these routes do not exist (404).
- `GET /api/v1/known-errors/` (`?search=`, `?problem=`): staff read all, customers those
  published to their organisation; `POST /api/v1/known-errors/{id}/send-workaround/` (staff);
  `POST /api/v1/known-errors/{id}/follow/` `{"follow": true|false}` (a customer of an
  organisation it is published to). Another organisation's known error answers 404.
"""

from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from pim import inputs
from pim.api import TenantScopedMixin
from pim.filters import parse_id
from pim.inputs import DateTimeApiField
from pim.models import Organization, User
from pim.permissions import is_provider_staff
from pim.serializers import ModelSerializer
from tickets import services as ticket_services
from tickets.models import OPEN_STATUSES, Kind, Ticket

from . import matching, services
from .models import KnownError, KnownErrorFollower, Level, Problem, ProblemIncident


class ProblemSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="ticket_id", read_only=True)
    number = serializers.CharField(source="ticket.number", read_only=True)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=inputs.DESCRIPTION_MAX)
    status = serializers.CharField(source="ticket.status", read_only=True)
    priority = serializers.IntegerField(source="ticket.priority", read_only=True)
    impact = serializers.ChoiceField(choices=Level.choices, default=Level.MEDIUM)
    urgency = serializers.ChoiceField(choices=Level.choices, default=Level.MEDIUM)
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    root_cause = serializers.CharField(
        required=False, allow_blank=True, max_length=inputs.RESOLUTION_TEXT_MAX
    )
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(),
        required=False,
        help_text="Without incidents: the organisation the problem is filed under.",
    )
    incidents = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=inputs.MAX_ID),
        required=False,
        max_length=100,
        help_text="The ids of the incidents the problem is raised from (any organisations).",
    )
    known_errors = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    reported_at = serializers.DateTimeField(source="ticket.reported_at", read_only=True)

    def to_representation(self, problem):
        ticket = problem.ticket
        return {
            "id": ticket.pk,
            "number": ticket.number,
            "title": ticket.title,
            "description": ticket.description,
            "status": ticket.status,
            "priority": ticket.priority,
            "impact": problem.impact,
            "urgency": problem.urgency,
            "owner": problem.owner.username if problem.owner else None,
            "root_cause": problem.root_cause,
            "organization": ticket.organization_id,
            "incidents": [link.incident_id for link in problem.links.all()],
            "known_errors": [ke.pk for ke in problem.known_errors.all()],
            "reported_at": serializers.DateTimeField().to_representation(ticket.reported_at),
        }

    def validate_incidents(self, value):
        found = {
            t.pk: t
            for t in Ticket.objects.filter(pk__in=value, kind=Kind.INCIDENT).select_related(
                "organization"
            )
        }
        missing = [pk for pk in value if pk not in found]
        if missing:
            raise serializers.ValidationError(
                f"Not incidents: {', '.join(str(pk) for pk in missing)}."
            )
        return [found[pk] for pk in dict.fromkeys(value)]


class LinkSerializer(serializers.Serializer):
    ticket = serializers.IntegerField(min_value=1, max_value=inputs.MAX_ID)


def problem_rows():
    return Problem.objects.select_related("ticket", "owner").prefetch_related(
        Prefetch("links", queryset=ProblemIncident.objects.order_by("linked_at", "pk")),
        Prefetch("known_errors", queryset=KnownError.objects.only("pk", "problem_id")),
    )


class StaffOnlyMixin:
    """The routes exist for provider staff only: everybody else gets 404."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not is_provider_staff(request.user):
            raise Http404


@extend_schema(tags=["problems"])
class ProblemViewSet(
    StaffOnlyMixin,
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Problems (staff only): a problem ticket (kind `problem`) with impact, urgency (→ the
    priority), owner, root cause, its linked incidents and known errors."""

    serializer_class = ProblemSerializer
    lookup_field = "ticket_id"
    lookup_url_kwarg = "pk"
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "patch", "head", "options"]
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Problem.objects.none()
        qs = problem_rows().order_by("-ticket__reported_at", "-pk")
        status = self.request.query_params.get("open")
        if status in ("1", "true"):
            qs = qs.filter(ticket__status__in=sorted(OPEN_STATUSES))
        elif status in ("0", "false"):
            qs = qs.exclude(ticket__status__in=sorted(OPEN_STATUSES))
        return qs

    @extend_schema(
        parameters=[OpenApiParameter("open", bool, description="Open (true) or closed (false).")]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        problem = services.raise_problem(
            request.user,
            title=data["title"],
            description=data["description"],
            impact=data["impact"],
            urgency=data["urgency"],
            incidents=data.get("incidents", []),
            organization=data.get("organization"),
            owner=data.get("owner"),
        )
        problem = problem_rows().get(pk=problem.pk)
        return Response(self.get_serializer(problem).data, status=201)

    def partial_update(self, request, *args, **kwargs):
        problem = self.get_object()
        ser = self.get_serializer(problem, data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        data = dict(ser.validated_data)
        for refused in ("organization", "incidents"):
            if refused in data:
                raise exceptions.ValidationError(
                    {refused: ["Link incidents with …/link/; the organisation stays."]}
                )
        plain = {k: data.pop(k) for k in ("title", "description") if k in data}
        if plain:
            ticket_services.update_ticket(problem.ticket, request.user, **plain)
        if data:
            services.update_problem(problem, request.user, **data)
        return Response(self.get_serializer(problem_rows().get(pk=problem.pk)).data)

    @extend_schema(request=LinkSerializer, responses=ProblemSerializer)
    @action(detail=True, methods=["post"])
    def link(self, request, pk=None, **kwargs):
        """Link an incident (of any organisation) to the problem."""
        problem = self.get_object()
        ser = LinkSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        incident = Ticket.objects.filter(pk=ser.validated_data["ticket"]).first()
        if incident is None:
            raise exceptions.ValidationError({"ticket": ["No such ticket."]})
        services.link_incident(problem, request.user, incident)
        return Response(self.get_serializer(problem_rows().get(pk=problem.pk)).data)


# --- known errors -----------------------------------------------------------------------------


class KnownErrorSerializer(ModelSerializer):
    problem = serializers.IntegerField(source="problem.ticket_id", read_only=True)
    services = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    published_to = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    fix_change = serializers.IntegerField(
        source="fix_change.ticket_id", read_only=True, allow_null=True
    )
    symptoms = serializers.CharField(read_only=True, max_length=inputs.RESOLUTION_TEXT_MAX)
    root_cause = serializers.CharField(read_only=True, max_length=inputs.RESOLUTION_TEXT_MAX)
    workaround = serializers.CharField(read_only=True, max_length=inputs.RESOLUTION_TEXT_MAX)
    fixed_at = DateTimeApiField(read_only=True, allow_null=True)
    following = serializers.SerializerMethodField()

    class Meta:
        model = KnownError
        fields = [
            "id", "problem", "title", "symptoms", "root_cause", "workaround", "services",
            "published_to", "fix_change", "fixed_at", "following", "created_at",
        ]  # fmt: skip

    def get_following(self, known_error) -> bool:
        return bool(getattr(known_error, "following", False))

    def to_representation(self, known_error):
        data = super().to_representation(known_error)
        request = self.context.get("request")
        if request is not None and not is_provider_staff(request.user):
            # What stays inside the provider: the problem, the root cause, the other
            # organisations it is published to, the change.
            for name in ("problem", "root_cause", "published_to", "fix_change"):
                data.pop(name, None)
            data["services"] = [
                s.pk for s in known_error.services.all()
                if s.organization_id == request.user.organization_id_or_none
            ]  # fmt: skip
        return data


class FollowSerializer(serializers.Serializer):
    follow = serializers.BooleanField(default=True)


class SentSerializer(serializers.Serializer):
    told = serializers.IntegerField()


class FollowingSerializer(serializers.Serializer):
    following = serializers.BooleanField()


@extend_schema(tags=["known-errors"])
class KnownErrorViewSet(
    TenantScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Known errors: staff read all; customers those published to their organisation."""

    serializer_class = KnownErrorSerializer
    filter_backends = []
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return KnownError.objects.none()
        user = self.request.user
        qs = services.known_errors_for(user).select_related("problem", "fix_change")
        qs = qs.prefetch_related("services", "published_to").annotate(
            following=Exists(
                KnownErrorFollower.objects.filter(known_error=OuterRef("pk"), user=user)
            )
        )
        problem = self.request.query_params.get("problem")
        if problem and is_provider_staff(user):
            pk = parse_id(problem)
            if pk is None:
                raise exceptions.ValidationError({"problem": ["A problem id: a whole number."]})
            qs = qs.filter(problem__ticket_id=pk)
        return qs.order_by("-created_at", "-pk")

    @extend_schema(
        parameters=[
            OpenApiParameter("search", str, description="Words of a title or symptoms."),
            OpenApiParameter("problem", int, description="Staff: the problem's ticket id."),
        ]
    )
    def list(self, request, *args, **kwargs):
        term = (request.query_params.get("search") or "").strip()[: inputs.SEARCH_MAX]
        if term:
            found = matching.match(self.get_queryset(), term, limit=25)
            return Response(
                {
                    "count": len(found),
                    "next": None,
                    "previous": None,
                    "results": self.get_serializer(found, many=True).data,
                }
            )
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=SentSerializer)
    @action(detail=True, methods=["post"], url_path="send-workaround")
    def send_workaround(self, request, pk=None, **kwargs):
        """Send the workaround to the reporters and authorised contacts of every linked
        incident, once per person (staff)."""
        known_error = self.get_object()
        told = services.send_workaround(known_error, request.user)
        return Response({"told": told})

    @extend_schema(request=FollowSerializer, responses=FollowingSerializer)
    @action(detail=True, methods=["post"])
    def follow(self, request, pk=None, **kwargs):
        """Follow (or stop following) a known error published to your organisation: you are
        told when it is fixed."""
        known_error = self.get_object()
        ser = FollowSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        if is_provider_staff(request.user):
            raise exceptions.PermissionDenied("Customers follow known errors.")
        following = services.follow(known_error, request.user, ser.validated_data["follow"])
        return Response({"following": following})


def get_known_error_for(user, pk) -> KnownError:
    return get_object_or_404(services.known_errors_for(user), pk=pk)
