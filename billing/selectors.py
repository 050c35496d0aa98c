"""Reads of billing data shared by several callers (the session shape, pricing)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.selectors import platform_settings

from .models import PENDING_EXTENSION_STATES, Extension, Tier, Transaction

# The api.md shapes live in billing/shapes.py; re-exported for the callers that read them here.
from .shapes import extension_data, payment_data, tier_data  # noqa: E402,F401


def session_payment(session) -> dict | None:
    if session.free_trial:
        return None
    tx = Transaction.objects.filter(session=session, kind=Transaction.Kind.SESSION).first()
    return payment_data(tx)


def session_pending_extension(session) -> dict | None:
    ext = (
        Extension.objects.filter(session=session, state__in=PENDING_EXTENSION_STATES)
        .select_related("tier", "transaction")
        .first()
    )
    return extension_data(ext) if ext else None


def extension_get(extension_id) -> Extension:
    return Extension.objects.select_related("tier", "transaction").get(pk=extension_id)


# --- pricing -----------------------------------------------------------------------------


def active_tiers(kind: str) -> QuerySet[Tier]:
    return Tier.objects.filter(kind=kind, is_active=True).order_by("sort_order", "price", "minutes")


def free_trial_eligible(client) -> bool:
    """Enabled, not used yet, and (for an anonymous client) allowed by the settings."""
    settings_row = platform_settings()
    if not settings_row.free_trial_enabled or client.free_trial_used:
        return False
    return not client.is_anonymous or settings_row.anonymous_trial_allowed


def pricing_data(client) -> dict:
    settings_row = platform_settings()
    return {
        "tiers": [tier_data(t) for t in active_tiers(Tier.Kind.SESSION)],
        "extension_tiers": [tier_data(t) for t in active_tiers(Tier.Kind.EXTENSION)],
        "free_trial": {
            "enabled": settings_row.free_trial_enabled,
            "minutes": settings_row.free_trial_minutes,
            "eligible": free_trial_eligible(client),
        },
    }


def session_payment_shape(*, session) -> dict | None:
    """chat's SESSION_PAYMENT hook: the payment in the session shape."""
    return session_payment(session)


def session_pending_extension_shape(*, session) -> dict | None:
    """chat's SESSION_PENDING_EXTENSION hook: the pending extension in the session shape."""
    return session_pending_extension(session)
