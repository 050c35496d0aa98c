from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from halobestie.fields import StrictCharField

from ..models import Client, Mitra


class ClientSerializer(serializers.ModelSerializer):
    is_registered = serializers.BooleanField(read_only=True)

    class Meta:
        model = Client
        fields = ["id", "display_name", "is_anonymous", "is_registered", "free_trial_used", "created_at"]
        read_only_fields = fields


class MitraSerializer(serializers.ModelSerializer):
    # null when there is no photo, as in the session shape's `mitra` (never "": not a URL).
    photo_url = serializers.SerializerMethodField()

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_photo_url(self, mitra) -> str | None:
        return mitra.photo_url or None

    class Meta:
        model = Mitra
        fields = ["id", "display_name", "bio", "photo_url", "is_active"]
        read_only_fields = fields


class DisplayNameInput(serializers.Serializer):
    display_name = StrictCharField(max_length=60, trim_whitespace=True, allow_blank=False)


class OptionalDisplayNameInput(serializers.Serializer):
    display_name = StrictCharField(max_length=60, trim_whitespace=True, required=False,
                                         allow_blank=True)
