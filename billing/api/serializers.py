"""Input validation and the schema of billing's api.md shapes.

The dicts themselves come from billing.selectors (one code path for REST answers and
socket events); the schema serializers for tier/payment/extension live with the session
shape in chat.api.serializers so OpenAPI has one component per shape.
"""

from rest_framework import serializers

from chat.api.serializers import ExtensionSerializer, TierSerializer  # noqa: F401 - re-exported
from halobestie.fields import StrictCharField


class FreeTrialSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    minutes = serializers.IntegerField()
    eligible = serializers.BooleanField()


class PricingSerializer(serializers.Serializer):
    tiers = TierSerializer(many=True)
    extension_tiers = TierSerializer(many=True)
    free_trial = FreeTrialSerializer()


class ExtensionRequestInput(serializers.Serializer):
    tier_id = StrictCharField(max_length=64)


class XenditInvoiceCallbackSerializer(serializers.Serializer):
    """The fields of Xendit's invoice callback we read (it sends more; all are kept)."""

    id = StrictCharField(required=False, max_length=80, accept_numbers=True)
    external_id = StrictCharField(max_length=120, accept_numbers=True)
    status = StrictCharField(max_length=20, accept_numbers=True)
    # Any number: one that is not the invoice's amount is recorded as an incident by the
    # service (a 400 would only make Xendit retry a payment we never record).
    amount = serializers.DecimalField(max_digits=None, decimal_places=None, coerce_to_string=False, required=False)
    paid_amount = serializers.DecimalField(max_digits=None, decimal_places=None, coerce_to_string=False, required=False)
    paid_at = StrictCharField(required=False, allow_blank=True, accept_numbers=True)
    payment_method = StrictCharField(required=False, allow_blank=True, accept_numbers=True)
    payment_channel = StrictCharField(required=False, allow_blank=True, accept_numbers=True)


class WebhookAnswerSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    result = serializers.CharField()
