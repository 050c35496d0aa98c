from rest_framework import serializers

from pricing.shapes import TierSerializer, tier_data

from ..models import PairingRequest


def pairing_request_data(request: PairingRequest) -> dict:
    return {
        "id": str(request.id),
        "state": request.state,
        "tier": tier_data(request.tier) if request.tier_id else None,
        "free_trial": request.free_trial,
        "topic": request.topic or None,
        "created_at": request.created_at.isoformat(),
        "expires_at": request.expires_at.isoformat(),
        "session_id": str(request.session_id) if request.session_id else None,
        # The honest waiting screen (additions to api.md's shape).
        "waiting": waiting_data(request) if request.state == PairingRequest.State.SEARCHING else None,
    }


def waiting_data(request: PairingRequest) -> dict:
    from .. import selectors

    available = selectors.available_mitras().count()
    return {
        "offered_to": request.offers.count(),
        "mitras_available": available,
        "no_mitra_online": available == 0,
        "median_wait_seconds": selectors.recent_median_wait_seconds(),
        "preferred_mitra_first": request.preferred_mitra_id is not None,
    }


class PairingRequestInput(serializers.Serializer):
    tier_id = serializers.UUIDField(required=False, allow_null=True)
    free_trial = serializers.BooleanField(required=False, default=False)
    topic = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    prefer_previous_mitra = serializers.BooleanField(required=False, default=False)

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
