from rest_framework import serializers

from halobestie.fields import StrictBooleanField, StrictCharField, StrictUUIDField
from pricing.shapes import TierSerializer

from ..shapes import pairing_request_data, waiting_data  # noqa: F401 - the shapes views answer with


class PairingRequestInput(serializers.Serializer):
    tier_id = StrictUUIDField(required=False, allow_null=True)
    free_trial = StrictBooleanField(required=False, default=False)
    topic = StrictCharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    prefer_previous_mitra = StrictBooleanField(required=False, default=False)

    def validate(self, attrs):
        if not attrs.get("free_trial") and not attrs.get("tier_id"):
            raise serializers.ValidationError({"tier_id": ["Choose a tier or the free trial."]})
        if attrs.get("free_trial") and attrs.get("tier_id"):
            raise serializers.ValidationError({"tier_id": ["Not allowed with free_trial."]})
        return attrs


class WaitingSerializer(serializers.Serializer):
    offered_to = serializers.IntegerField()
    mitras_available = serializers.IntegerField()
    no_mitra_online = serializers.BooleanField()
    median_wait_seconds = serializers.IntegerField(allow_null=True)
    preferred_mitra_first = serializers.BooleanField()


class PairingRequestSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(["searching", "matched", "expired", "cancelled"])
    tier = TierSerializer(allow_null=True)
    free_trial = serializers.BooleanField()
    topic = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    session_id = serializers.UUIDField(allow_null=True)
    waiting = WaitingSerializer(allow_null=True)


class OfferClientSerializer(serializers.Serializer):
    alias = serializers.CharField()


class OfferSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    client = OfferClientSerializer()
    topic = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    free_trial = serializers.BooleanField()
    minutes = serializers.IntegerField()


class PresenceInput(serializers.Serializer):
    status = serializers.ChoiceField(["online", "offline"])


class PresenceSerializer(serializers.Serializer):
    status = serializers.ChoiceField(["online", "offline"])
    since = serializers.DateTimeField(allow_null=True)
    last_heartbeat_at = serializers.DateTimeField(allow_null=True)
    heartbeat_interval = serializers.IntegerField()
    auto_offline_after = serializers.IntegerField()
    live_sessions = serializers.IntegerField()
    max_customers = serializers.IntegerField()
