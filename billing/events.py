"""What the apps are told about payments and extensions, and to whom (after commit)."""

from __future__ import annotations

from halobestie.realtime import built_once, client_group, mitra_group, send_on_commit

from .models import Extension, Transaction
from .shapes import extension_data, payment_data


def payment_updated(tx: Transaction) -> None:
    """`payment.updated` (payment + session_id) to the client, on every status or URL change."""
    data = {
        **payment_data(tx),
        "session_id": str(tx.session_id),
        "kind": tx.kind,
        "extension_id": str(tx.extension_id) if tx.extension_id else None,
    }
    send_on_commit([(client_group(tx.client_id), "payment.updated", data)])


def _extension_payload(ext: Extension, tx: Transaction | None) -> dict:
    return {**extension_data(ext, tx=tx), "session_id": str(ext.session_id)}


def extension_requested(ext: Extension, *, client_id, mitra_id) -> None:
    """A new request: `extension.requested` to the mitra, `extension.updated` to the client."""
    data = _extension_payload(ext, None)
    send_on_commit(
        [
            (mitra_group(mitra_id), "extension.requested", data),
            (client_group(client_id), "extension.updated", data),
        ]
    )


def extension_updated(ext: Extension, *, client_id, mitra_id, tx: Transaction | None = None) -> None:
    """Once per state change, to both. The payment is read after commit, so an accepted
    extension carries its invoice URL if the invoice already exists (else payment.updated
    brings it)."""

    def build() -> dict:
        fresh = Transaction.objects.filter(pk=tx.pk).first() if tx is not None else None
        return _extension_payload(ext, fresh or tx)

    data = built_once(build)
    send_on_commit(
        [
            (client_group(client_id), "extension.updated", data),
            (mitra_group(mitra_id), "extension.updated", data),
        ]
    )
