"""`GET/PUT /api/v1/tickets/{id}/review/`: the post-incident review of a P1 incident (routed in
pim/urls.py ahead of the ticket router, like the other apps' ticket actions).

A ticket the caller cannot see answers 404; a ticket that has no review (not a P1 incident)
409 with the reason; a customer who may not read the review (anyone but the organisation's
authorised contacts, and they only once it is published) 404. Provider staff read it (empty
until filed) and file it with PUT (403 for everybody else)."""

from datetime import date

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from pim import inputs
from pim.api import TenantScopedMixin
from pim.permissions import is_provider_staff, require_staff
from tickets import queries as ticket_queries
from tickets.models import Ticket

from . import services
from .models import PostIncidentReview


def validate_day(value):
    if not (inputs.EARLIEST.date() <= value < date(8999, 12, 31)):
        raise serializers.ValidationError(inputs.instant_range_message(), code="out_of_range")
    return value


class ReviewActionSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=inputs.MAX_ID,
        help_text="An action of this review (keeps its row); leave out for a new action.",
    )
    description = serializers.CharField(max_length=services.ACTION_MAX)
    owner = serializers.CharField(
        max_length=150, help_text="Username: provider staff or a person of the organisation."
    )
    due = serializers.DateField(validators=[validate_day])
    done = serializers.BooleanField(default=False)


def _text(name, required=True):
    return serializers.CharField(
        max_length=services.TEXT_MAX[name], required=required, allow_blank=not required
    )


class ReviewSerializer(serializers.Serializer):
    ticket = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    timeline = _text("timeline")
    cause = _text("cause")
    impact = _text("impact")
    went_well = _text("went_well", required=False)
    went_wrong = _text("went_wrong", required=False)
    actions = ReviewActionSerializer(many=True, required=False, max_length=services.ACTIONS_MAX)
    published = serializers.BooleanField(
        required=False, help_text="Authorised contacts of the organisation read it once true."
    )
    due_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="5 working days after the resolution."
    )
    filed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    published_at = serializers.DateTimeField(read_only=True, allow_null=True)
    author = serializers.CharField(read_only=True, allow_null=True)


def review_data(ticket, review):
    due_at, _filed = services.due_dates(ticket)
    if review is None:
        review = PostIncidentReview(ticket=ticket, filed_at=None)
        actions = []
    else:
        actions = list(review.actions.all())
    return {
        "ticket": ticket.pk,
        "number": ticket.number,
        **{name: getattr(review, name) or "" for name in services.TEXTS},
        "actions": [
            {
                "id": a.pk,
                "description": a.description,
                "owner": a.owner.username,
                "due": a.due,
                "done": a.done,
            }
            for a in actions
        ],  # fmt: skip
        "published": review.published,
        "due_at": due_at,
        "filed_at": review.filed_at,
        "published_at": review.published_at,
        "author": review.author.username if review.author_id else None,
    }


class TicketReviewView(TenantScopedMixin, GenericAPIView):
    serializer_class = ReviewSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Ticket.objects.none()
        return ticket_queries.ticket_list(self.request.user)

    def _ticket(self, pk):
        ticket = get_object_or_404(self.get_queryset(), pk=pk)
        services.check_reviewable(ticket)  # 409: not a P1 incident
        return ticket

    @extend_schema(responses=ReviewSerializer)
    def get(self, request, pk):
        """The review: provider staff always (empty until filed), the organisation's
        authorised contacts once it is published."""
        ticket = self._ticket(pk)
        review = services.review_of(ticket)
        if not services.may_read(review, request.user):
            raise Http404
        return Response(ReviewSerializer(review_data(ticket, review)).data)

    @extend_schema(request=ReviewSerializer, responses=ReviewSerializer)
    def put(self, request, pk):
        """File or amend the review (provider staff, once the incident is resolved): timeline,
        cause and impact are required; `actions`, when sent, replace the list (an item with
        its `id` keeps its row)."""
        ticket = self._ticket(pk)
        if not is_provider_staff(request.user) and not services.may_read(
            services.review_of(ticket), request.user
        ):
            raise Http404
        require_staff(request.user, "Provider staff file the post-incident review.")
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        actions = None
        if "actions" in data:
            actions = [self._action(ticket, item) for item in data["actions"]]
        review = services.save_review(ticket, request.user, data, actions)
        review = services.review_of(ticket)
        return Response(ReviewSerializer(review_data(ticket, review)).data)

    def _action(self, ticket, item):
        owner = services.owner_candidates(ticket).filter(username=item["owner"]).first()
        if owner is None:
            raise serializers.ValidationError(
                {"actions": [f"No such owner: {item['owner']} (provider staff or a person of "
                             "the organisation)."]}
            )  # fmt: skip
        return {**item, "owner": owner}
