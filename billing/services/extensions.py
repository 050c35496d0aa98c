"""The extension state machine: requested → accepted → applied, or rejected / expired /
cancelled. One function per transition, each guarded under the session's row lock (lock
order: session, extension, transaction); events, pushes and timers leave on commit."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.selectors import platform_settings
from chat.models import Session
from chat.services.messages import message_post_system
from halobestie.errors import ApplicationError
from halobestie.ids import parse_uuid
from halobestie.timers import schedule_at
from notifications.services import notify_on_commit

from .. import (
    events,
    tasks,  # billing.tasks imports this module back: a module import, used at call time
)
from ..models import PENDING_EXTENSION_STATES, Extension, Tier, Transaction
from ..selectors import extension_get
from .payments import transaction_expire_locked, transaction_open

EXTENDABLE_STATES = (Session.State.ACTIVE, Session.State.CLOSING)
SWEEP_BATCH = 500

PAYMENT_EXPIRED_TEXT = "Pembayaran perpanjangan tidak diterima tepat waktu."


def _notify(event: str, session: Session, to: tuple[str, ...]) -> None:
    notify_on_commit(event, session=session, to=to)


def _updated(ext: Extension, session: Session, tx=None) -> None:
    kwargs = {} if tx is None else {"tx": tx}
    events.extension_updated(ext, client_id=session.client_id, mitra_id=session.mitra_id, **kwargs)


def _session_still_open(session: Session, now: datetime) -> bool:
    if session.state == Session.State.ACTIVE:
        return True
    return (
        session.state == Session.State.CLOSING and session.closing_ends_at is not None and session.closing_ends_at > now
    )


# --- request -------------------------------------------------------------------------------


def extension_request(*, session_id, client, tier_id) -> Extension:
    """The client asks for more time in an active or closing session."""
    sid = parse_uuid(session_id)
    if sid is None or not Session.objects.filter(pk=sid, client_id=client.id).exists():
        raise ApplicationError("not_found", "Session not found.")
    if client.is_anonymous:
        raise ApplicationError("registration_required", "Register to extend a session.")
    tier_uuid = parse_uuid(tier_id)
    tier = Tier.objects.filter(pk=tier_uuid, kind=Tier.Kind.EXTENSION, is_active=True).first() if tier_uuid else None
    if tier is None:
        raise ApplicationError(
            "validation_error", "Unknown extension tier.", fields={"tier_id": ["Unknown extension tier."]}
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            session = Session.objects.select_for_update().get(pk=sid)
            if session.client_id != client.id:
                raise ApplicationError("not_found", "Session not found.")
            if not _session_still_open(session, now):
                raise ApplicationError("invalid_state", f"The session is {session.state}; it cannot be extended.")
            if Extension.objects.filter(session=session, state__in=PENDING_EXTENSION_STATES).exists():
                raise ApplicationError("conflict", "An extension is already pending for this session.")
            ext = Extension.objects.create(
                session=session,
                tier=tier,
                minutes=tier.minutes,
                price=tier.price,
                respond_by=now + timedelta(seconds=platform_settings().extension_timeout),
            )
            message_post_system(session=session, code="extension_requested")
            events.extension_requested(ext, client_id=session.client_id, mitra_id=session.mitra_id)
            _notify("extension_requested", session, ("mitra",))
            schedule_at(tasks.extension_expire, ext.respond_by, extension_id=str(ext.id))
    except IntegrityError:  # the one-pending constraint caught a race
        raise ApplicationError("conflict", "An extension is already pending for this session.") from None
    return extension_get(ext.pk)


# --- the mitra's answer --------------------------------------------------------------------


def extension_answer(*, session_id, extension_id, mitra, accept: bool) -> Extension:
    """The session's current mitra accepts (→ the client pays) or rejects, before respond_by."""
    sid, eid = parse_uuid(session_id), parse_uuid(extension_id)
    if sid is None or eid is None:
        raise ApplicationError("not_found", "Extension not found.")
    now = timezone.now()
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(pk=sid, mitra_id=mitra.id).first()
        if session is None:
            raise ApplicationError("not_found", "Session not found.")
        ext = Extension.objects.select_for_update().filter(pk=eid, session_id=session.pk).first()
        if ext is None:
            raise ApplicationError("not_found", "Extension not found.")
        if ext.state != Extension.State.REQUESTED:
            raise ApplicationError("invalid_state", f"The extension is already {ext.state}.")
        if ext.respond_by <= now:
            raise ApplicationError("invalid_state", "The extension request has expired.")
        if not _session_still_open(session, now):
            raise ApplicationError("invalid_state", f"The session is {session.state}.")
        ext.state = Extension.State.ACCEPTED if accept else Extension.State.REJECTED
        ext.responded_at = now
        ext.save(update_fields=["state", "responded_at"])
        tx = None
        if accept:
            tx = transaction_open(
                session=session,
                kind=Transaction.Kind.EXTENSION,
                amount=ext.price,
                extension=ext,
                expires_at=now + timedelta(seconds=platform_settings().payment_timeout),
            )
            schedule_at(tasks.extension_payment_timeout, tx.expires_at, transaction_id=str(tx.id))
        message_post_system(session=session, code="extension_accepted" if accept else "extension_rejected")
        _updated(ext, session, tx)
        _notify("extension_answered", session, ("client",))
    return extension_get(ext.pk)


# --- deadlines -----------------------------------------------------------------------------


def extension_expire(*, extension_id, now: datetime | None = None) -> bool:
    """requested → expired once respond_by passed without an answer."""
    now = now or timezone.now()
    row = (
        Extension.objects.filter(pk=extension_id, state=Extension.State.REQUESTED, respond_by__lte=now)
        .values("session_id")
        .first()
    )
    if row is None:
        return False
    with transaction.atomic():
        session = Session.objects.select_for_update().get(pk=row["session_id"])
        won = Extension.objects.filter(pk=extension_id, state=Extension.State.REQUESTED, respond_by__lte=now).update(
            state=Extension.State.EXPIRED, responded_at=now
        )
        if not won:
            return False
        ext = Extension.objects.select_related("tier").get(pk=extension_id)
        message_post_system(session=session, code="extension_expired")
        _updated(ext, session, None)
    return True


def extension_cancel_unpaid_locked(ext: Extension, *, session: Session, tx: Transaction | None) -> bool:
    """accepted → cancelled because its payment expired (rows locked by the caller)."""
    if ext.state != Extension.State.ACCEPTED:
        return False
    ext.state = Extension.State.CANCELLED
    ext.save(update_fields=["state"])
    if session.state in EXTENDABLE_STATES:
        message_post_system(session=session, code="extension_payment_expired", text=PAYMENT_EXPIRED_TEXT)
    _updated(ext, session, tx)
    return True


def extension_payment_expire(*, transaction_id, now: datetime | None = None) -> bool:
    """An accepted extension unpaid at its payment expiry: transaction expired (invoice
    expired at the gateway after commit), extension cancelled."""
    now = now or timezone.now()
    row = (
        Transaction.objects.filter(
            pk=transaction_id, kind=Transaction.Kind.EXTENSION, status=Transaction.Status.PENDING, expires_at__lte=now
        )
        .values("session_id", "extension_id")
        .first()
    )
    if row is None:
        return False
    with transaction.atomic():
        session = Session.objects.select_for_update().get(pk=row["session_id"])
        ext = Extension.objects.select_for_update().get(pk=row["extension_id"])
        tx = Transaction.objects.select_for_update().get(pk=transaction_id)
        if tx.expires_at > now or not transaction_expire_locked(tx, session=session):
            return False
        extension_cancel_unpaid_locked(ext, session=session, tx=tx)
    return True


def extensions_cancel_for_closed_session(*, session: Session) -> int:
    """The session closed (or was cancelled): every pending extension is cancelled and its
    unpaid transaction expired. Called inside the closing transaction, session locked."""
    cancelled = 0
    pending = Extension.objects.select_for_update().filter(session_id=session.pk, state__in=PENDING_EXTENSION_STATES)
    for ext in pending:
        ext.state = Extension.State.CANCELLED
        ext.responded_at = ext.responded_at or timezone.now()
        ext.save(update_fields=["state", "responded_at"])
        tx = Transaction.objects.select_for_update().filter(extension_id=ext.pk).first()
        if tx is not None:
            transaction_expire_locked(tx, session=session)
        _updated(ext, session, tx)
        cancelled += 1
    return cancelled


def extension_sweep_overdue(now: datetime | None = None) -> int:
    """Every extension request past respond_by, idempotently (unpaid accepted extensions are
    the payment sweep's: their deadline is the transaction's)."""
    now = now or timezone.now()
    overdue = Extension.objects.filter(state=Extension.State.REQUESTED, respond_by__lte=now).values_list(
        "pk", flat=True
    )[:SWEEP_BATCH]
    return sum(extension_expire(extension_id=pk, now=now) for pk in overdue)
