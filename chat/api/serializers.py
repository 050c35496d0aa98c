"""The api.md shapes for sessions and messages.

`chat/shapes.py` builds the dicts (one code path for REST answers and socket events); the
Serializer classes here describe the same shapes for the OpenAPI schema.
"""

from __future__ import annotations

from rest_framework import serializers

from pricing.shapes import TierSerializer

from ..shapes import (  # noqa: F401 - the shapes the views answer with
    can_end_early,
    client_alias_for,
    message_data,
    session_data,
)

# --- schema-only serializers (the shapes above) -------------------------------------------

class PaymentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(["pending", "paid", "expired", "failed", "refund_needed", "refunded"])
    amount = serializers.IntegerField()
    invoice_url = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class ExtensionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(["requested", "accepted", "rejected", "expired", "applied", "cancelled"])
    tier = TierSerializer()
    requested_at = serializers.DateTimeField()
    respond_by = serializers.DateTimeField()
    payment = PaymentSerializer(allow_null=True)
    session_id = serializers.UUIDField(required=False)


class SessionClientSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    alias = serializers.CharField()


class SessionMitraSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()
    photo_url = serializers.CharField(allow_null=True)


class ClosureSerializer(serializers.Serializer):
    closed_by = serializers.ChoiceField(["client", "mitra", "system", "staff"])
    reason = serializers.CharField()
    closed_at = serializers.DateTimeField()


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(["awaiting_payment", "active", "closing", "closed", "cancelled"])
    client = SessionClientSerializer()
    mitra = SessionMitraSerializer()
    free_trial = serializers.BooleanField()
    minutes = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    closing_ends_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    server_time = serializers.DateTimeField()
    payment = PaymentSerializer(allow_null=True)
    pending_extension = ExtensionSerializer(allow_null=True)
    closure = ClosureSerializer(allow_null=True)
    can_end_early = serializers.BooleanField()
    risk_level = serializers.CharField(allow_null=True)


class SessionPageSerializer(serializers.Serializer):
    results = SessionSerializer(many=True)
    next = serializers.CharField(allow_null=True)


class MessageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    session_id = serializers.UUIDField()
    seq = serializers.IntegerField(
        min_value=1,
        help_text="Per session, gapless (1, 2, 3 …) in commit order. Holding seq N and seeing N+2 means N+1 "
                  "exists: fetch `?after_seq=N`. After every reconnect, fetch `?after_seq=<last seq held>`.")
    client_message_id = serializers.CharField(allow_null=True)
    sender = serializers.ChoiceField(["client", "mitra", "system"])
    body = serializers.CharField()
    created_at = serializers.DateTimeField()
    status = serializers.ChoiceField(["sent", "delivered", "read"])
    delivered_at = serializers.DateTimeField(allow_null=True)
    read_at = serializers.DateTimeField(allow_null=True)


class MessagePageSerializer(serializers.Serializer):
    results = MessageSerializer(many=True)
    next = serializers.CharField(allow_null=True)


class TranscriptSerializer(serializers.Serializer):
    session = SessionSerializer()
    messages = MessageSerializer(many=True)


class MessageInput(serializers.Serializer):
    client_message_id = serializers.CharField(max_length=64, trim_whitespace=False)
    body = serializers.CharField(max_length=4000, trim_whitespace=False)

    def validate_body(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A message cannot be empty.")
        return value


class EndInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class FeedbackInput(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class FeedbackSerializer(serializers.Serializer):
    rating = serializers.IntegerField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()
