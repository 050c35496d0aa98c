from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from .. import privacy, services
from ..authentication import ensure_not_mitra
from .base import ClientAPIView, MitraAPIView, SignInAPIView
from .serializers import ClientSerializer, DisplayNameInput, MitraSerializer, OptionalDisplayNameInput


class ClientAuthSessionView(SignInAPIView):
    accepts_null_body = True  # the body is optional; JSON null is read as no body
    @extend_schema(request=OptionalDisplayNameInput, responses={200: ClientSerializer, 201: ClientSerializer},
                   operation_id="client_auth_session")
    def post(self, request):
        data = OptionalDisplayNameInput(data={} if request.data is None else request.data)  # an object, if any
        data.is_valid(raise_exception=True)
        identity = request.user.identity
        ensure_not_mitra(identity)
        client, created = services.client_sign_in(
            identity=identity, display_name=data.validated_data.get("display_name")
        )
        return Response(ClientSerializer(client).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ClientMeView(ClientAPIView):
    @extend_schema(responses=ClientSerializer, operation_id="client_me")
    def get(self, request):
        return Response(ClientSerializer(request.user).data)

    @extend_schema(request=DisplayNameInput, responses=ClientSerializer, operation_id="client_me_update")
    def patch(self, request):
        data = DisplayNameInput(data=request.data)
        data.is_valid(raise_exception=True)
        client = services.client_update_profile(client=request.user, **data.validated_data)
        return Response(ClientSerializer(client).data)

    @extend_schema(request=None, responses={204: None}, operation_id="client_me_delete")
    def delete(self, request):
        """Delete the account (UU PDP): profile and message text removed, history anonymised."""
        privacy.client_delete(client=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClientExportView(ClientAPIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="client_me_export")
    def get(self, request):
        """Everything we hold about the caller, as JSON (UU PDP data portability)."""
        return Response(privacy.client_export(client=request.user))


class MitraAuthSessionView(SignInAPIView):
    @extend_schema(request=None, responses=MitraSerializer, operation_id="mitra_auth_session")
    def post(self, request):
        mitra = services.mitra_sign_in(identity=request.user.identity)
        return Response(MitraSerializer(mitra).data)


class MitraMeView(MitraAPIView):
    @extend_schema(responses=MitraSerializer, operation_id="mitra_me")
    def get(self, request):
        return Response(MitraSerializer(request.user).data)
