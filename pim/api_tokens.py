"""Personal API tokens over the API: obtain with a password, list, create, revoke.

(Kept out of pim.api, which DRF's settings import while rest_framework.generics loads.)
"""

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import (
    exceptions,
    generics,
    mixins,
    serializers,
    status,
    viewsets,
)
from rest_framework.response import Response

from .auth import create_token, revoke_token
from .inputs import PASSWORD_MAX
from .models import ApiToken
from .security import bruteforce
from .security.clientip import client_ip
from .security.throttling import ScopedRateThrottle
from .serializers import ModelSerializer


class ObtainTokenSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        style={"input_type": "password"}, trim_whitespace=False, max_length=PASSWORD_MAX
    )
    name = serializers.CharField(required=False, max_length=100, default="API")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown only now; store it safely.")


class TokenCreatedSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown only now; store it safely.")
    id = serializers.IntegerField()
    name = serializers.CharField()


class ApiTokenSerializer(ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]


class ObtainTokenView(generics.GenericAPIView):
    """Exchange a username and password for a new personal token (`{"token": …}`)."""

    authentication_classes = []
    permission_classes = []
    serializer_class = ObtainTokenSerializer
    throttle_scope = "auth"
    throttle_classes = [ScopedRateThrottle]

    @extend_schema(responses={200: TokenSerializer})
    def post(self, request):
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=ser.validated_data["username"],
            password=ser.validated_data["password"],
        )
        if user is None or not user.is_active:
            wait = getattr(request._request, "sign_in_wait", 0)
            if wait:  # pim.security.bruteforce refused before checking the password
                throttled = exceptions.Throttled(detail=bruteforce.sign_in_wait_message(wait))
                throttled.wait = wait
                raise throttled
            raise serializers.ValidationError(
                {"non_field_errors": [_("Unable to log in with these credentials.")]}
            )
        bruteforce.sign_in_succeeded(user.get_username(), client_ip(request._request))
        _token, key = create_token(user, ser.validated_data["name"])
        return Response({"token": key})  # the DESIGN §5 contract


class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's own tokens. Creating returns the key once; deleting revokes."""

    serializer_class = ApiTokenSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    @extend_schema(responses={201: TokenCreatedSerializer})
    def create(self, request, *args, **kwargs):
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        token, key = create_token(request.user, ser.validated_data["name"])
        return Response(
            {"token": key, "id": token.pk, "name": token.name}, status=status.HTTP_201_CREATED
        )

    def perform_destroy(self, instance):
        revoke_token(instance, self.request.user)
