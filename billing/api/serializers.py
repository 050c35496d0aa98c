"""Input validation and the schema of billing's api.md shapes.

The dicts themselves come from billing.selectors (one code path for REST answers and
socket events); the schema serializers for tier/payment/extension live with the session
shape in chat.api.serializers so OpenAPI has one component per shape.
"""

from rest_framework import serializers

from chat.api.serializers import ExtensionSerializer, TierSerializer  # noqa: F401 - re-exported


class FreeTrialSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    minutes = serializers.IntegerField()
    eligible = serializers.BooleanField()


class PricingSerializer(serializers.Serializer):
    tiers = TierSerializer(many=True)
    extension_tiers = TierSerializer(many=True)
    free_trial = FreeTrialSerializer()


class ExtensionRequestInput(serializers.Serializer):
    tier_id = serializers.CharField(max_length=64)


class XenditInvoiceCallbackSerializer(serializers.Serializer):
    """The fields of Xendit's invoice callback we read (it sends more; all are kept)."""

    id = serializers.CharField(required=False, max_length=80)
    external_id = serializers.CharField(max_length=120)
    status = serializers.CharField(max_length=20)
    # Any number: one that is not the invoice's amount is recorded as an incident by the
    # service (a 400 would only make Xendit retry a payment we never record).
    amount = serializers.DecimalField(max_digits=None, decimal_places=None, coerce_to_string=False, required=False)
    paid_amount = serializers.DecimalField(max_digits=None, decimal_places=None, coerce_to_string=False, required=False)
    paid_at = serializers.CharField(required=False, allow_blank=True)
    payment_method = serializers.CharField(required=False, allow_blank=True)
    payment_channel = serializers.CharField(required=False, allow_blank=True)


class WebhookAnswerSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    result = serializers.CharField()
