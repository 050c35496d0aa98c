"""Reads of billing data shared by several callers (the session shape, pricing)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.selectors import platform_settings
from pricing import shapes

from .models import PENDING_EXTENSION_STATES, Extension, Tier, Transaction

_UNSET = object()


# --- api.md shapes -----------------------------------------------------------------------


def payment_data(tx: Transaction | None) -> dict | None:
    if tx is None:
        return None
    return {
        "id": str(tx.id),
        "status": tx.status,
        "amount": tx.amount,
        "invoice_url": tx.invoice_url or None,
        "expires_at": tx.expires_at.isoformat() if tx.expires_at else None,
    }


tier_data = shapes.tier_data  # the price list's shape (pricing), used by the shapes here


def extension_data(ext: Extension, *, tx=_UNSET) -> dict:
    """The api.md `extension`. Pass `tx` when the caller holds a fresher transaction row."""
    if tx is _UNSET:
        try:
            tx = ext.transaction
        except Transaction.DoesNotExist:
            tx = None
    return {
        "id": str(ext.id),
        "state": ext.state,
        "tier": tier_data(ext.tier),
        "requested_at": ext.requested_at.isoformat(),
        "respond_by": ext.respond_by.isoformat(),
        "payment": payment_data(tx),
    }


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
