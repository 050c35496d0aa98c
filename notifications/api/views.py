from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from accounts.api.base import SharedAPIView
from halobestie.errors import ApplicationError

from .. import services
from .serializers import FCM_TOKEN_MAX, DeviceInput, DeviceSerializer, fcm_token_validator


class DeviceRegisterView(SharedAPIView):
    @extend_schema(request=DeviceInput, responses={201: DeviceSerializer, 200: DeviceSerializer},
                   operation_id="device_register")
    def post(self, request):
        data = DeviceInput(data=request.data)
        data.is_valid(raise_exception=True)
        device, created = services.device_register(user=request.user, **data.validated_data)
        return Response(DeviceSerializer(device).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class DeviceDeleteView(SharedAPIView):
    @extend_schema(responses={204: OpenApiResponse(description="Token forgotten.")},
                   operation_id="device_unregister")
    def delete(self, request, fcm_token: str):
        try:
            if len(fcm_token) > FCM_TOKEN_MAX:
                raise ValidationError("too long")
            fcm_token_validator(fcm_token)
        except ValidationError:
            raise ApplicationError("not_found", "Device not found.") from None
        services.device_unregister(user=request.user, fcm_token=fcm_token)
        return Response(status=status.HTTP_204_NO_CONTENT)
