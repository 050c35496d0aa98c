"""Reads of the price list."""

from __future__ import annotations

from halobestie.ids import parse_uuid

from .models import Tier


def active_tier(tier_id, kind: str) -> Tier | None:
    """The active tier of that kind with this id, or None (a bad id is simply not found)."""
    tid = parse_uuid(tier_id) if isinstance(tier_id, str) else tier_id
    if tid is None:
        return None
    return Tier.objects.filter(pk=tid, kind=kind, is_active=True).first()


def active_tiers(kind: str):
    return Tier.objects.filter(kind=kind, is_active=True).order_by("sort_order", "price")
