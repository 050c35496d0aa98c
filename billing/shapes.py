"""What the API and the sockets send about money (api.md `payment`, `extension`): one
builder per shape, used by views, the session shape (through chat's hooks) and `events.py`."""

from __future__ import annotations

from pricing.shapes import tier_data

from .models import Extension, Transaction

_UNSET = object()



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
