"""Shapes of the devices endpoints (api.md, Shared)."""

from django.core.validators import RegexValidator
from rest_framework import serializers

from halobestie.fields import StrictCharField

from ..models import Device

# FCM registration tokens are URL-safe base64 with ':' separators, about 150-250 chars.
FCM_TOKEN_MIN = 32
FCM_TOKEN_MAX = 1024
FCM_TOKEN_RE = r"\A[A-Za-z0-9_:\-.]+\Z"
fcm_token_validator = RegexValidator(FCM_TOKEN_RE, "Not an FCM registration token.")


class DeviceInput(serializers.Serializer):
    fcm_token = StrictCharField(min_length=FCM_TOKEN_MIN, max_length=FCM_TOKEN_MAX,
                                trim_whitespace=False, validators=[fcm_token_validator])
    platform = serializers.ChoiceField(choices=Device.Platform.choices)


class DeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ["fcm_token", "platform", "created_at", "updated_at"]
