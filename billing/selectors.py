"""Reads of billing data shared by several callers (the session shape, the control center)."""

from __future__ import annotations

from .models import PENDING_EXTENSION_STATES, Extension, Transaction


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


def tier_data(tier) -> dict:
    return {"id": str(tier.id), "name": tier.name, "minutes": tier.minutes, "price": tier.price}


def extension_data(ext: Extension) -> dict:
    tx = getattr(ext, "transaction", None) if hasattr(ext, "transaction") else None
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
    ext = (Extension.objects.filter(session=session, state__in=PENDING_EXTENSION_STATES)
           .select_related("tier").first())
    return extension_data(ext) if ext else None
