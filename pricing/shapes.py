"""What the API and the sockets send about prices: the api.md `tier`."""

from rest_framework import serializers

from .models import Tier


def tier_data(tier: Tier) -> dict:
    return {"id": str(tier.id), "name": tier.name, "minutes": tier.minutes, "price": tier.price}


class TierSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    minutes = serializers.IntegerField()
    price = serializers.IntegerField()
