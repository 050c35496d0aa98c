"""Customer transactions: opening them, their invoices, and what Xendit tells us about them.

Lock order, everywhere in billing: session, then extension, then transaction (the chat
lifecycle locks the session before it calls in here). Gateway calls happen only in tasks,
after commit, never while a row is locked; the webhook itself never touches the network.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.selectors import platform_settings
from chat.models import Session
from chat.services.lifecycle import session_activate_paid, session_cancel_unpaid, session_extend
from notifications.services import notify_on_commit

from .. import (
    events,
    tasks,  # billing.tasks imports this module back: a module import, used at call time
)
from ..gateways import GatewayError, active_gateway_name, gateway_named
from ..models import Extension, PaymentIncident, Transaction
from . import extensions  # extensions imports this module back: a module import, used at call time

logger = logging.getLogger(__name__)

PAID_STATUSES = ("PAID", "SETTLED")
# A pending transaction still without an invoice this long after the last attempt is retried.
INVOICE_RETRY_AFTER = timedelta(seconds=60)
SWEEP_BATCH = 500

TX = Transaction.Status


def _enqueue(task, **kwargs) -> None:
    """Send a billing task once the current transaction commits (inline in eager mode)."""
    transaction.on_commit(lambda: task.delay(**kwargs), robust=True)


def _notify_payment_result(session: Session) -> None:
    notify_on_commit("payment_result", session=session, to=("client",))


# --- opening a transaction ---------------------------------------------------------------


def transaction_open(
    *, session: Session, kind: str, amount: int, expires_at: datetime, extension: Extension | None = None
) -> Transaction:
    """A pending transaction; its invoice is created by a task after commit."""
    tx = Transaction.objects.create(
        client_id=session.client_id,
        session=session,
        extension=extension,
        kind=kind,
        amount=amount,
        external_id=f"hb-{kind}-{uuid.uuid4().hex}",
        expires_at=expires_at,
        gateway=active_gateway_name(),
    )
    _enqueue(tasks.transaction_invoice_create, transaction_id=str(tx.id))
    return tx


def session_payment_start(*, session: Session) -> Transaction:
    """Called inside the accept transaction of a paid session. The transaction expires
    exactly when the session's payment is due."""
    due = session.payment_due_at or timezone.now() + timedelta(seconds=platform_settings().payment_timeout)
    return transaction_open(session=session, kind=Transaction.Kind.SESSION, amount=session.price, expires_at=due)


# --- invoices (tasks call these; they talk to the gateway) --------------------------------


def _description(tx: Transaction) -> str:
    # Never the client's name or topic: the invoice page and e-mails are not private.
    if tx.kind == Transaction.Kind.EXTENSION and tx.extension_id:
        return f"Halo Bestie: perpanjangan sesi {tx.extension.minutes} menit"
    return f"Halo Bestie: sesi curhat {tx.session.minutes} menit"


def transaction_invoice_create(*, transaction_id, now: datetime | None = None) -> bool:
    """Create the invoice of a pending transaction and publish its URL.

    Raises GatewayError when the gateway fails (the task decides whether to retry). An
    attempt is claimed by a compare-and-swap on `updated_at`, so the first task and a
    retry sent by the sweep never both create an invoice.
    """
    now = now or timezone.now()
    tx = Transaction.objects.select_related("session", "extension").filter(pk=transaction_id).first()
    if tx is None or tx.status != TX.PENDING or tx.xendit_invoice_id:
        return False
    seconds_left = int((tx.expires_at - now).total_seconds())
    if seconds_left < 1:
        return False
    claimed = Transaction.objects.filter(
        pk=tx.pk, status=TX.PENDING, xendit_invoice_id="", updated_at=tx.updated_at
    ).update(updated_at=now)
    if not claimed:
        return False
    try:
        ref = gateway_named(tx.gateway).create_invoice(
            external_id=tx.external_id,
            amount=tx.amount,
            description=_description(tx),
            duration_seconds=seconds_left,
        )
    except GatewayError as exc:
        logger.warning("invoice creation failed for %s: %s", tx.external_id, exc)
        Transaction.objects.filter(pk=tx.pk).update(
            note=f"Invoice creation failed: {exc}"[:300], updated_at=timezone.now()
        )
        raise
    with transaction.atomic():
        tx = Transaction.objects.select_for_update().get(pk=tx.pk)
        if tx.xendit_invoice_id:
            return False
        tx.xendit_invoice_id = ref.invoice_id
        tx.invoice_url = ref.invoice_url
        tx.note = ""
        tx.save(update_fields=["xendit_invoice_id", "invoice_url", "note", "updated_at"])
        if tx.status == TX.EXPIRED:
            # It expired while we were asking for it: the new invoice must not stay payable.
            _enqueue(tasks.transaction_invoice_expire, transaction_id=str(tx.id))
        elif tx.status == TX.PENDING:
            _publish(tx)
    return True


def transaction_invoice_expire(*, transaction_id) -> bool:
    """Tell the gateway an expired transaction's invoice is dead. Raises a retryable
    GatewayError on a transient failure; a definite refusal (already expired or paid) is
    the end of it."""
    tx = Transaction.objects.filter(pk=transaction_id).first()
    if tx is None or tx.status != TX.EXPIRED or not tx.xendit_invoice_id:
        return False
    try:
        gateway_named(tx.gateway).expire_invoice(invoice_id=tx.xendit_invoice_id)
    except GatewayError as exc:
        if exc.retryable:
            raise
        logger.info("invoice %s not expired by the gateway: %s", tx.external_id, exc)
        return False
    return True


def _publish(tx: Transaction) -> None:
    """payment.updated to the client; for an extension also extension.updated to both."""
    events.payment_updated(tx)
    if tx.extension_id:
        ext = Extension.objects.select_related("tier", "session").get(pk=tx.extension_id)
        events.extension_updated(ext, client_id=ext.session.client_id, mitra_id=ext.session.mitra_id, tx=tx)


# --- expiring ------------------------------------------------------------------------------


def transaction_expire_locked(
    tx: Transaction, *, session: Session, tell_gateway: bool = True, raw_callback: dict | None = None
) -> bool:
    """pending → expired for a transaction the caller has locked (with its session)."""
    if tx.status != TX.PENDING:
        return False
    tx.status = TX.EXPIRED
    fields = ["status", "updated_at"]
    if raw_callback is not None:
        tx.raw_callback = raw_callback
        fields.append("raw_callback")
    tx.save(update_fields=fields)
    events.payment_updated(tx)
    _notify_payment_result(session)
    if tell_gateway and tx.xendit_invoice_id:
        _enqueue(tasks.transaction_invoice_expire, transaction_id=str(tx.id))
    # Without an invoice id yet, the invoice task in flight sees `expired` and expires it.
    return True


def session_payment_expire(*, session: Session) -> Transaction | None:
    """The session was cancelled (or closed) before it was paid: its payment expires and
    its invoice is expired at the gateway after commit. Called under the session's lock."""
    tx = Transaction.objects.select_for_update().filter(session=session, kind=Transaction.Kind.SESSION).first()
    if tx is None or not transaction_expire_locked(tx, session=session):
        return None
    return tx


def session_payment_overdue(*, transaction_id, now: datetime | None = None) -> bool:
    """A session payment past its expiry: cancel the unpaid session (which expires the
    payment), or, if the session already moved on, expire the orphaned payment."""
    now = now or timezone.now()
    row = (
        Transaction.objects.filter(pk=transaction_id, status=TX.PENDING, expires_at__lte=now)
        .values("session_id")
        .first()
    )
    if row is None:
        return False
    if Session.objects.filter(pk=row["session_id"], state=Session.State.AWAITING_PAYMENT).exists():
        return session_cancel_unpaid(session_id=row["session_id"], now=now)
    with transaction.atomic():
        session = Session.objects.select_for_update().get(pk=row["session_id"])
        if session.state == Session.State.AWAITING_PAYMENT:
            return False  # the session's own deadline decides; the chat sweep will cancel it
        tx = Transaction.objects.select_for_update().get(pk=transaction_id)
        return transaction_expire_locked(tx, session=session)


def payment_sweep_overdue(now: datetime | None = None) -> int:
    """Every overdue payment transition, idempotently; and a retry for lost invoices."""
    now = now or timezone.now()
    done = 0
    overdue = Transaction.objects.filter(status=TX.PENDING, expires_at__lte=now).values_list("pk", "kind")[:SWEEP_BATCH]
    for pk, kind in overdue:
        if kind == Transaction.Kind.EXTENSION:
            done += extensions.extension_payment_expire(transaction_id=pk, now=now)
        else:
            done += session_payment_overdue(transaction_id=pk, now=now)
    stuck = Transaction.objects.filter(
        status=TX.PENDING, xendit_invoice_id="", expires_at__gt=now, updated_at__lte=now - INVOICE_RETRY_AFTER
    )
    for pk in stuck.values_list("pk", flat=True)[:SWEEP_BATCH]:
        try:
            tasks.transaction_invoice_create.delay(transaction_id=str(pk))
        except Exception as exc:  # noqa: BLE001 - broker down: the next sweep tries again
            logger.warning("could not enqueue invoice creation: %s", type(exc).__name__)
    return done


# --- Xendit's invoice callback (the webhook and the sandbox page) --------------------------


def _callback_amount(payload: dict) -> Decimal | None:
    raw = payload.get("paid_amount")
    if raw is None:
        raw = payload.get("amount")
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        return Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return None


def _callback_time(payload: dict, default: datetime) -> datetime:
    value = payload.get("paid_at")
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        return default
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


def _json_safe(value, depth: int = 0):
    """The callback as PostgreSQL's jsonb can store it: no NUL characters, no lone
    surrogates, bounded nesting (Xendit's callbacks are flat; anything else is noise)."""
    if isinstance(value, str):
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    if depth >= 16:
        return None
    if isinstance(value, dict):
        return {_json_safe(str(k)): _json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v, depth + 1) for v in value]
    return value


def _incident(*, kind: str, external_id: str, payload: dict, tx: Transaction | None = None) -> PaymentIncident:
    """Record a callback we will not apply, once per identical payload."""
    existing = PaymentIncident.objects.filter(
        kind=kind, external_id=external_id, payload=payload, resolved_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    logger.warning("payment incident %s for external_id=%s", kind, external_id[:120])
    return PaymentIncident.objects.create(kind=kind, external_id=external_id[:120], payload=payload, transaction=tx)


def invoice_callback_handle(*, payload: dict, now: datetime | None = None) -> str:
    """Apply one Xendit invoice callback; returns what happened (for logs and tests).

    Idempotent on our external id under row locks: a duplicate, or EXPIRED after PAID,
    changes nothing. Unknown invoices and amount mismatches become incidents for staff.
    No network call happens here; follow-up work leaves as tasks after commit.
    """
    payload = _json_safe(payload)
    outcome = _callback_apply(payload, now or timezone.now())
    logger.info("xendit invoice callback %s: %s", str(payload.get("external_id") or "")[:120], outcome)
    return outcome


def _callback_apply(payload: dict, now: datetime) -> str:
    external_id = str(payload.get("external_id") or "")
    status = str(payload.get("status") or "").upper()
    ref = (
        Transaction.objects.filter(external_id=external_id).values("pk", "session_id", "extension_id").first()
        if external_id
        else None
    )
    if ref is None:
        _incident(kind=PaymentIncident.Kind.UNKNOWN_INVOICE, external_id=external_id, payload=payload)
        return "unknown_invoice"
    if status not in (*PAID_STATUSES, "EXPIRED"):
        return "ignored"
    with transaction.atomic():
        session = Session.objects.select_for_update().get(pk=ref["session_id"])
        ext = Extension.objects.select_for_update().get(pk=ref["extension_id"]) if ref["extension_id"] else None
        tx = Transaction.objects.select_for_update().get(pk=ref["pk"])
        if status == "EXPIRED":
            return _apply_expired(tx, session=session, ext=ext, payload=payload, now=now)
        return _apply_paid(tx, session=session, ext=ext, payload=payload, now=now)


def _apply_paid(tx: Transaction, *, session: Session, ext: Extension | None, payload: dict, now: datetime) -> str:
    if tx.status in (TX.PAID, TX.REFUND_NEEDED, TX.REFUNDED):
        invoice_id = str(payload.get("id") or "")
        if invoice_id and tx.xendit_invoice_id and invoice_id != tx.xendit_invoice_id:
            # Money for a second invoice of the same transaction: never silently kept.
            _incident(kind=PaymentIncident.Kind.DUPLICATE_PAYMENT, external_id=tx.external_id, payload=payload, tx=tx)
            return "duplicate_payment"
        return "duplicate"
    amount = _callback_amount(payload)
    if amount is None or amount != Decimal(tx.amount):
        _incident(kind=PaymentIncident.Kind.AMOUNT_MISMATCH, external_id=tx.external_id, payload=payload, tx=tx)
        return "amount_mismatch"
    late = tx.status != TX.PENDING  # expired (or failed) on our side: the money still came
    tx.paid_at = _callback_time(payload, now)
    tx.payment_method = str(payload.get("payment_channel") or payload.get("payment_method") or "")[:40]
    tx.raw_callback = payload
    if not tx.xendit_invoice_id and payload.get("id"):
        tx.xendit_invoice_id = str(payload["id"])[:80]
    fields = ["status", "paid_at", "payment_method", "raw_callback", "xendit_invoice_id", "note", "updated_at"]
    if ext is None:
        outcome = _apply_session_paid(tx, session=session, late=late, fields=fields)
    else:
        outcome = _apply_extension_paid(tx, session=session, ext=ext, late=late, fields=fields, now=now)
    events.payment_updated(tx)
    _notify_payment_result(session)
    return outcome


def _refund_needed(tx: Transaction, reason: str, fields: list[str]) -> str:
    tx.status = TX.REFUND_NEEDED
    tx.note = reason[:300]
    tx.save(update_fields=fields)
    logger.warning("payment %s needs a refund: %s", tx.external_id, reason)
    return "refund_needed"


def _apply_session_paid(tx: Transaction, *, session: Session, late: bool, fields: list[str]) -> str:
    if late or session.state != Session.State.AWAITING_PAYMENT:
        return _refund_needed(tx, f"Paid after the session was {session.state} (payment {tx.status}).", fields)
    tx.status = TX.PAID
    tx.save(update_fields=fields)
    if session_activate_paid(session_id=session.pk) is None:  # cannot happen under our lock
        return _refund_needed(tx, "The session could not be activated.", fields)
    return "paid"


def _apply_extension_paid(
    tx: Transaction, *, session: Session, ext: Extension, late: bool, fields: list[str], now: datetime
) -> str:
    extendable = session.state == Session.State.ACTIVE or (
        session.state == Session.State.CLOSING and session.closing_ends_at and session.closing_ends_at > now
    )
    if late or ext.state != Extension.State.ACCEPTED or not extendable:
        outcome = _refund_needed(
            tx, f"Extension paid after the session was {session.state} (extension {ext.state}).", fields
        )
        if ext.state == Extension.State.ACCEPTED:
            ext.state = Extension.State.CANCELLED
            ext.save(update_fields=["state"])
        events.extension_updated(ext, client_id=session.client_id, mitra_id=session.mitra_id, tx=tx)
        return outcome
    tx.status = TX.PAID
    tx.save(update_fields=fields)
    ext.state = Extension.State.APPLIED
    ext.applied_at = now
    ext.save(update_fields=["state", "applied_at"])
    session_extend(session_id=session.pk, minutes=ext.minutes, now=now)
    events.extension_updated(ext, client_id=session.client_id, mitra_id=session.mitra_id, tx=tx)
    return "paid"


def _apply_expired(tx: Transaction, *, session: Session, ext: Extension | None, payload: dict, now: datetime) -> str:
    if not transaction_expire_locked(tx, session=session, tell_gateway=False, raw_callback=payload):
        return "ignored"  # already paid, expired or refunded: a late EXPIRED changes nothing
    if ext is not None:
        extensions.extension_cancel_unpaid_locked(ext, session=session, tx=tx)
    elif session.state == Session.State.AWAITING_PAYMENT:
        # The invoice is dead, so the session can never be paid: cancel it now rather
        # than at its deadline.
        Session.objects.filter(pk=session.pk, state=Session.State.AWAITING_PAYMENT).update(payment_due_at=now)
        session_cancel_unpaid(session_id=session.pk, now=now)
    return "expired"
