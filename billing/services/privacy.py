"""Billing's part of the client's data export (registered on accounts' hooks)."""

from __future__ import annotations

from ..models import Transaction


def client_transactions_export(*, client) -> dict:
    return {"transactions": [
        {"id": str(t.id), "kind": t.kind, "amount": t.amount, "status": t.status,
         "created_at": t.created_at.isoformat(), "paid_at": t.paid_at.isoformat() if t.paid_at else None}
        for t in Transaction.objects.filter(client=client).order_by("created_at")
    ]}
