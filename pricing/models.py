"""The price list: session and extension tiers.

Below pairing (a paid request names its tier), chat (a session keeps its tier and price)
and billing (a payment charges it), so every app that reads prices stands above it. The
table kept its name (`billing_tier`) when the model moved here.
"""

import uuid

from django.db import models
from django.db.models import Q


class Tier(models.Model):
    class Kind(models.TextChoices):
        SESSION = "session"
        EXTENSION = "extension"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=60)
    minutes = models.PositiveIntegerField()
    price = models.PositiveIntegerField(help_text="IDR")
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "billing_tier"
        ordering = ["kind", "sort_order", "price"]
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gt=0), name="tier_minutes_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.minutes} min, Rp{self.price:,})"
