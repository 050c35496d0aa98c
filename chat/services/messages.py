"""Writing messages, receipts and typing. One service behind the socket and REST."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from halobestie.errors import ApplicationError
from halobestie.ids import parse_uuid
from halobestie.realtime import client_group, mitra_group, send_on_commit

from .. import events
from ..models import WRITABLE_STATES, Message, Session

MAX_BODY = 4000
_STATUS_RANK = {"sent": 0, "delivered": 1, "read": 2}


def _writable_session(session_id, user) -> Session:
    """The session if `user` is one of its two current participants, else 404."""
    filters = {"client_id": user.id} if user.role == "client" else {"mitra_id": user.id}
    session_id = parse_uuid(session_id)
    if session_id is None:
        raise ApplicationError("not_found", "Session not found.")
    try:
        # .get(), not .first(): no ORDER BY, so PostgreSQL uses the primary key (bench F2).
        session = Session.objects.only(
            "id", "state", "client_id", "mitra_id", "risk_level", "last_mitra_message_at"
        ).get(pk=session_id, **filters)
    except Session.DoesNotExist:
        raise ApplicationError("not_found", "Session not found.") from None
    return session


def message_send(*, session_id, sender, client_message_id: str, body: str) -> tuple[Message, bool]:
    """Store a participant's message; returns (message, created). A retry with the same
    client_message_id returns the stored message (the database enforces uniqueness)."""
    if not isinstance(body, str) or not body.strip():
        raise ApplicationError("validation_error", "A message cannot be empty.",
                               fields={"body": ["A message cannot be empty."]})
    if len(body) > MAX_BODY:
        raise ApplicationError("validation_error", "Messages are limited to 4,000 characters.",
                               fields={"body": ["Ensure this field has no more than 4000 characters."]})
    if not isinstance(client_message_id, str) or not 1 <= len(client_message_id) <= 64:
        raise ApplicationError("validation_error", "client_message_id is required (at most 64 characters).",
                               fields={"client_message_id": ["Required, at most 64 characters."]})
    # PostgreSQL text cannot hold NUL; REST refuses it in the serializer, the socket here.
    nul = [name for name, value in (("body", body), ("client_message_id", client_message_id)) if "\x00" in value]
    if nul:
        raise ApplicationError("validation_error", "Null characters are not allowed.",
                               fields={name: ["Null characters are not allowed."] for name in nul})
    session = _writable_session(session_id, sender)
    role = sender.role
    if session.state not in WRITABLE_STATES:
        existing = _existing(session, role, client_message_id)
        if existing is not None:
            return existing, False
        raise ApplicationError("invalid_state", f"The session is {session.state}; messages are closed.")
    try:
        # Insert first: the unique key turns a retry into an IntegrityError, so the
        # common case is exactly one INSERT.
        with transaction.atomic():
            message = Message.objects.create(
                session=session, sender=role, client_message_id=client_message_id, body=body,
                sender_mitra_id=sender.id if role == "mitra" else None,
            )
            message.session = session
            if role == "mitra" and session.last_mitra_message_at is None:
                Session.objects.filter(pk=session.pk, last_mitra_message_at__isnull=True).update(
                    last_mitra_message_at=message.created_at)
            events.message_new(message)
            _after_message(session, message)
    except IntegrityError:
        existing = _existing(session, role, client_message_id)
        if existing is None:
            raise
        return existing, False
    return message, True


def _existing(session: Session, role: str, client_message_id: str) -> Message | None:
    return Message.objects.filter(session=session, sender=role, client_message_id=client_message_id).first()


def _after_message(session: Session, message: Message) -> None:
    """Pushes for a recipient with no live socket; the crisis check for client messages."""
    from notifications.services import notify_new_message_on_commit

    notify_new_message_on_commit(message=message, session=session)
    if message.sender == "client":
        from chat.services.care import crisis_check

        crisis_check(session=session, message=message)


def message_post_system(*, session: Session, code: str, text: str | None = None) -> Message:
    body = text or events.SYSTEM_TEXT.get(code, code)
    message = Message.objects.create(session=session, sender="system", body=body, system_code=code,
                                     status=Message.Status.READ)
    message.session = session
    events.message_new(message)
    return message


def _other_side(role: str) -> str:
    return "mitra" if role == "client" else "client"


def _status_event(session: Session, sender_role: str, ids: list[str], status: str, at) -> None:
    """`message.status` to the sender of those messages (the other side of the reader)."""
    if not ids:
        return
    data = {"session_id": str(session.id), "message_ids": ids, "status": status, "at": at.isoformat()}
    group = client_group(session.client_id) if sender_role == "client" else mitra_group(session.mitra_id)
    send_on_commit([(group, "message.status", data)])


def messages_mark_delivered(*, session_id, reader, message_ids: list) -> list[str]:
    """The reader's device got these messages. Only the other side's messages move, only
    forward (sent → delivered)."""
    if not isinstance(message_ids, list) or not message_ids or len(message_ids) > 500:
        raise ApplicationError("validation_error", "message_ids must be a list of 1 to 500 ids.",
                               fields={"message_ids": ["1 to 500 message ids."]})
    ids = [str(m) for m in message_ids if isinstance(m, str) and len(m) <= 40]
    session = _writable_session(session_id, reader)
    now = timezone.now()
    with transaction.atomic():
        valid = _valid_uuids(ids)
        updated = list(
            Message.objects.filter(session=session, sender=_other_side(reader.role), id__in=valid,
                                   status="sent").values_list("id", flat=True)
        )
        if updated:
            Message.objects.filter(session=session, id__in=updated, status="sent").update(
                status="delivered", delivered_at=now)
        result = [str(u) for u in updated]
        _status_event(session, _other_side(reader.role), result, "delivered", now)
    return result


def messages_mark_read(*, session_id, reader, up_to) -> list[str]:
    """Read everything from the other side up to and including `up_to`: one UPDATE for
    all of them (plus the lookups of the session, the anchor and the ids for the event)."""
    session = _writable_session(session_id, reader)
    valid = _valid_uuids([str(up_to)]) if isinstance(up_to, str) else []
    if not valid:
        raise ApplicationError("validation_error", "up_to must be a message id.",
                               fields={"up_to": ["Must be a message id."]})
    anchor = Message.objects.filter(session=session, id=valid[0]).values_list("seq", flat=True).first()
    if anchor is None:
        raise ApplicationError("not_found", "Message not found.")
    now = timezone.now()
    with transaction.atomic():
        scope = Message.objects.filter(session=session, sender=_other_side(reader.role), seq__lte=anchor,
                                       status__in=("sent", "delivered"))
        ids = [str(i) for i in scope.values_list("id", flat=True)]
        if ids:
            # One UPDATE: read now, and delivered now too unless it already was.
            Message.objects.filter(session=session, id__in=ids).update(
                status="read", read_at=now, delivered_at=Coalesce(F("delivered_at"), Value(now)))
        _status_event(session, _other_side(reader.role), ids, "read", now)
    return ids


def typing_relay(*, session_id, sender, is_typing: bool) -> tuple[str, dict]:
    """Tell the other participant; never stored. Rate-limited by the caller (the socket)."""
    if not isinstance(is_typing, bool):
        raise ApplicationError("validation_error", "is_typing must be true or false.",
                               fields={"is_typing": ["Must be a boolean."]})
    session = _writable_session(session_id, sender)
    if session.state not in WRITABLE_STATES:
        raise ApplicationError("invalid_state", f"The session is {session.state}.")
    target = mitra_group(session.mitra_id) if sender.role == "client" else client_group(session.client_id)
    return target, {"session_id": str(session.id), "is_typing": is_typing, "sender": sender.role}


def _valid_uuids(values: list[str]) -> list[str]:
    return [str(u) for u in map(parse_uuid, values) if u is not None]
