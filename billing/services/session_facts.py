"""Billing's reactions to session facts (registered on chat's hooks in `BillingConfig`).

They run inside chat's transaction, under the session's lock, so a session and its money
change together. Lock order stays session → extension → transaction. Only billing writes
a transaction's status.
"""

from __future__ import annotations

import logging

from chat.hooks import UNSERVED_REASONS

from .. import events
from ..models import Transaction
from .extensions import extensions_cancel_for_closed_session
from .payments import session_payment_expire, session_payment_start

logger = logging.getLogger(__name__)


def on_session_born_unpaid(*, session) -> None:
    """A paid session was matched: its payment opens (the invoice is made after commit)."""
    session_payment_start(session=session)


def on_session_ended(*, session, closure) -> None:
    """The session is closed or cancelled: an unpaid payment expires, pending extensions
    are cancelled, and if the client was not served as paid (no mitra took over after a
    no-show, an absence or a deactivation) every paid payment is flagged for refund."""
    session_payment_expire(session=session)
    extensions_cancel_for_closed_session(session=session)
    if closure.reason in UNSERVED_REASONS:
        flag_unserved_session(session=session, reason=closure.reason)


def flag_unserved_session(*, session, reason: str) -> int:
    paid = list(Transaction.objects.select_for_update().filter(session=session, status=Transaction.Status.PAID))
    for tx in paid:
        tx.status = Transaction.Status.REFUND_NEEDED
        tx.note = f"No mitra took over the session ({reason})."[:300]
        tx.save(update_fields=["status", "note", "updated_at"])
        logger.warning("payment %s needs a refund: session closed (%s)", tx.external_id, reason)
    for tx in paid:
        events.payment_updated(tx)
    return len(paid)
