"""Writing messages, receipts and typing. One service behind the socket and REST."""

from __future__ import annotations

import contextlib
import uuid

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from halobestie import metrics
from halobestie.errors import ApplicationError
from halobestie.ids import parse_uuid
from halobestie.realtime import client_group, mitra_group
from notifications.services import notify_new_message_on_commit
from pairing.services import presence_resume

from .. import events, rules
from ..models import WRITABLE_STATES, Message, Session, SessionAssignment, SessionEvent
from . import (
    care,  # care imports this module back: a module import, used at call time
    stream,
)

MAX_BODY = rules.MAX_BODY
_STATUS_RANK = {"sent": 0, "delivered": 1, "read": 2}


def _writable_session(session_id, user) -> Session:
    """The session if `user` is one of its two current participants, else 404."""
    filters = {"client_id": user.id} if user.role == "client" else {"mitra_id": user.id}
    session_id = parse_uuid(session_id)
    if session_id is None:
        raise ApplicationError("not_found", "Session not found.")
    try:
        # .get(), not .first(): no ORDER BY, so PostgreSQL uses the primary key (bench F2).
        session = Session.objects.only("id", "state", "client_id", "mitra_id").get(pk=session_id, **filters)
    except Session.DoesNotExist:
        raise ApplicationError("not_found", "Session not found.") from None
    return session


def _validate(body, client_message_id) -> None:
    if not isinstance(body, str) or not body.strip():
        raise ApplicationError("validation_error", "A message cannot be empty.",
                               fields={"body": ["A message cannot be empty."]})
    if len(body) > MAX_BODY:
        raise ApplicationError("validation_error", f"Messages are limited to {MAX_BODY:,} characters.",
                               fields={"body": [f"Ensure this field has no more than {MAX_BODY} characters."]})
    if not isinstance(client_message_id, str) or not 1 <= len(client_message_id) <= 64:
        raise ApplicationError("validation_error", "client_message_id is required (at most 64 characters).",
                               fields={"client_message_id": ["Required, at most 64 characters."]})
    # PostgreSQL text cannot hold NUL; REST refuses it in the serializer, the socket here.
    nul = [name for name, value in (("body", body), ("client_message_id", client_message_id)) if "\x00" in value]
    if nul:
        raise ApplicationError("validation_error", "Null characters are not allowed.",
                               fields={name: ["Null characters are not allowed."] for name in nul})


_SEND_FIELDS = ("state", "client_id", "mitra_id", "risk_level", "last_mitra_message_at", "mitra_away_since",
                "reroute_needed_since", "reroute_reason", "unserved_since")


def message_send(*, session_id, sender, client_message_id: str, body: str) -> tuple[Message, bool]:
    """Store a participant's message; returns (message, created). A retry with the same
    client_message_id returns the stored message (the database enforces uniqueness).

    Under the session's lock: the state and the participants are checked as of now (a
    reroute or a close that commits first wins: the old mitra's message is refused, a
    message after `closed` is refused), and the message takes the next `seq`.

    On PostgreSQL the common case is one statement (`_send_one_statement`); anything
    unusual (a retry, a refusal, SQLite) takes the general path below, which decides it."""
    sid = send_validated(session_id=session_id, client_message_id=client_message_id, body=body)
    role = sender.role
    if connection.vendor == "postgresql":
        fast = _send_one_statement(sid, sender, client_message_id, body)
        if fast is not None:
            metrics.MESSAGES_BY_SENDER[role].inc()
            return fast, True
    now = timezone.now()
    try:
        with transaction.atomic():
            session = stream.session_lock(sid, fields=_SEND_FIELDS)
            if session is None or not _is_current_participant(session, sender):
                existing = _existing(sid, sender, client_message_id) if session is not None else None
                if existing is not None:
                    return existing, False  # a retry of what it sent before it lost the session
                raise ApplicationError("not_found", "Session not found.")
            if session.state not in WRITABLE_STATES:
                existing = _existing(sid, sender, client_message_id)
                if existing is not None:
                    return existing, False
                raise ApplicationError("invalid_state", f"The session is {session.state}; messages are closed.")
            updates = {}
            first_of_assignment = False
            if role == "mitra":
                first_of_assignment = session.last_mitra_message_at is None
                updates = {"last_mitra_message_at": now, **mitra_presence_clears(session, by_message=True)}
                if session.mitra_away_since is not None:
                    # Writing proves the app is back: an auto-offline mitra is online again.
                    transaction.on_commit(lambda: presence_resume(mitra=sender), robust=True)
            message = stream.stream_append(
                session, session_updates=updates, sender=role, client_message_id=client_message_id, body=body,
                sender_mitra_id=sender.id if role == "mitra" else None,
            )
            if first_of_assignment:
                SessionAssignment.objects.filter(session_id=sid, ended_at__isnull=True,
                                                 first_message_at__isnull=True).update(
                    first_message_at=message.created_at)
            if "mitra_away_since" in updates or "reroute_needed_since" in updates:
                SessionEvent.objects.create(session_id=sid, kind="mitra_returned", data={"by": "message"})
            events.message_new(message)
            _after_message(session, message)
    except IntegrityError:
        existing = _existing(sid, sender, client_message_id)
        if existing is None:
            raise
        return existing, False
    metrics.MESSAGES_BY_SENDER[role].inc()
    return message, True


# One round trip for a message on PostgreSQL: lock the session row and take the next seq
# only if the session is writable and the sender is its current participant (the UPDATE's
# WHERE, re-checked by PostgreSQL on the newest row version after waiting for the lock),
# store the message with that seq, mark the current assignment's first mitra message, and
# put "mitra returned" on the timeline when the message ends an absence.
# A retry breaks the idempotency key: the whole statement fails, nothing is numbered, and
# the general path returns the stored message. A mitra's message also ends a grace period
# or a pending reroute for absence or silence (as `mitra_presence_clears`).
_SEND_SQL = """
WITH old AS (
    SELECT mitra_away_since, reroute_reason FROM chat_session WHERE id = %(sid)s
), s AS (
    UPDATE chat_session SET
        last_seq = last_seq + 1,
        last_mitra_message_at = CASE WHEN %(is_mitra)s THEN %(now)s ELSE last_mitra_message_at END,
        mitra_away_since = CASE WHEN %(is_mitra)s THEN NULL ELSE mitra_away_since END,
        reroute_needed_since = CASE WHEN %(is_mitra)s AND reroute_reason IN ('mitra_offline', 'mitra_no_show')
                                    THEN NULL ELSE reroute_needed_since END,
        unserved_since = CASE WHEN %(is_mitra)s AND reroute_reason IN ('mitra_offline', 'mitra_no_show')
                              THEN NULL ELSE unserved_since END,
        reroute_reason = CASE WHEN %(is_mitra)s AND reroute_reason IN ('mitra_offline', 'mitra_no_show')
                              THEN '' ELSE reroute_reason END,
        updated_at = %(now)s
    WHERE id = %(sid)s AND state IN ('active', 'closing')
      AND CASE WHEN %(is_mitra)s THEN mitra_id = %(uid)s ELSE client_id = %(uid)s END
    RETURNING id, last_seq, client_id, mitra_id, state, risk_level
), a AS (
    UPDATE chat_sessionassignment SET first_message_at = %(now)s
    WHERE %(is_mitra)s AND session_id = (SELECT id FROM s) AND ended_at IS NULL AND first_message_at IS NULL
    RETURNING 1
), e AS (
    INSERT INTO chat_sessionevent (session_id, kind, data, created_at)
    SELECT s.id, 'mitra_returned', '{"by": "message"}'::jsonb, %(now)s FROM s, old
    WHERE %(is_mitra)s AND (old.mitra_away_since IS NOT NULL OR old.reroute_reason IN ('mitra_offline', 'mitra_no_show'))
    RETURNING 1
), m AS (
    INSERT INTO chat_message (id, session_id, seq, sender, sender_mitra_id, client_message_id, body, system_code,
                              created_at, status)
    SELECT %(mid)s, s.id, s.last_seq, %(role)s, %(mitra)s, %(cmid)s, %(body)s, '', %(now)s, 'sent' FROM s
    RETURNING "row", seq
)
SELECT m."row", m.seq, s.client_id, s.mitra_id, s.state, s.risk_level, (SELECT mitra_away_since FROM old),
       (SELECT reroute_reason FROM old)
FROM m, s
"""


def send_statement(sid, sender, client_message_id: str, body: str) -> tuple[str, dict]:
    """The one statement of a send and its parameters (also run on the socket's loop:
    chat/services/socket_send.py)."""
    role = sender.role
    return _SEND_SQL, {"sid": sid, "uid": sender.id, "is_mitra": role == "mitra", "now": timezone.now(),
                       "mid": uuid.uuid4(), "role": role, "mitra": sender.id if role == "mitra" else None,
                       "cmid": client_message_id, "body": body}


def send_validated(*, session_id, client_message_id, body):
    """The checks every send passes before the database: the session id, or an error."""
    _validate(body, client_message_id)
    sid = parse_uuid(session_id)
    if sid is None:
        raise ApplicationError("not_found", "Session not found.")
    return sid


def _send_one_statement(sid, sender, client_message_id: str, body: str) -> Message | None:
    """The common case in one statement, or None (refused, a retry: the caller decides)."""
    role = sender.role
    sql, params = send_statement(sid, sender, client_message_id, body)
    now, mid = params["now"], params["mid"]
    try:
        with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                row = cursor.fetchone()
    except IntegrityError:
        return None  # a retry of a stored message: nothing was written
    if row is None:
        return None  # not writable, or not this sender's session: the general path says why
    pk, seq, client_id, mitra_id, state, risk_level, was_away, old_reason = row
    session = Session(id=sid, client_id=client_id, mitra_id=mitra_id, state=state, risk_level=risk_level)
    message = Message(row=pk, id=mid, session_id=sid, seq=seq, sender=role, client_message_id=client_message_id,
                      body=body, created_at=now, status=Message.Status.SENT,
                      sender_mitra_id=sender.id if role == "mitra" else None)
    message.session = session
    if role == "mitra" and was_away is not None:
        transaction.on_commit(lambda: presence_resume(mitra=sender), robust=True)
    events.message_new(message)
    _after_message(session, message)
    return message


def mitra_presence_clears(session: Session, *, by_message: bool) -> dict:
    """The current mitra is here (a message, a heartbeat, online again): the grace period
    stops, and a reroute still waiting because the mitra was away is called off; a message
    also calls off a no-show reroute. A deactivated mitra's reroute stands."""
    clears = {}
    if session.mitra_away_since is not None:
        clears["mitra_away_since"] = None
    reasons = ("mitra_offline", "mitra_no_show") if by_message else ("mitra_offline",)
    if session.reroute_needed_since is not None and session.reroute_reason in reasons:
        clears.update(reroute_needed_since=None, reroute_reason="", unserved_since=None)
    return clears


def _is_current_participant(session: Session, user) -> bool:
    if user.role == "client":
        return session.client_id == user.id
    return session.mitra_id == user.id


def _existing(session_id, sender, client_message_id: str) -> Message | None:
    if sender.role == "client":
        qs = Message.objects.filter(session_id=session_id, sender="client")
    else:
        qs = Message.objects.filter(session_id=session_id, sender="mitra", sender_mitra_id=sender.id)
    return qs.filter(client_message_id=client_message_id).first()


def _after_message(session: Session, message: Message) -> None:
    """Pushes for a recipient with no live socket; the crisis check for client messages."""
    notify_new_message_on_commit(message=message, session=session)
    if message.sender == "client":
        care.crisis_check(session=session, message=message)


def message_post_system(*, session: Session, code: str, text: str | None = None) -> Message:
    """A system message in the session's stream. Takes the session's lock (the caller's
    transaction usually holds it already) so it is numbered like any other message."""
    body = text or events.SYSTEM_TEXT.get(code, code)
    with transaction.atomic():  # its own transaction when called outside one (the crisis check)
        locked = stream.session_lock(session.pk)
        session.last_seq = locked.last_seq
        message = stream.stream_append(session, sender="system", body=body, system_code=code,
                                       status=Message.Status.READ)
        events.message_new(message)
    return message


def _other_side(role: str) -> str:
    return "mitra" if role == "client" else "client"


def _status_event(session: Session, sender_role: str, ids: list[str], status: str, at) -> None:
    events.message_status(session, sender_role=sender_role, message_ids=ids, status=status, at=at)


def messages_mark_delivered(*, session_id, reader, message_ids: list) -> list[str]:
    """The reader's device got these messages. Only the other side's messages move, only
    forward (sent → delivered). The rows are locked before they are chosen, so a read
    receipt that committed first is seen: no `delivered` event ever follows a `read`."""
    if not isinstance(message_ids, list) or not message_ids or len(message_ids) > 500:
        raise ApplicationError("validation_error", "message_ids must be a list of 1 to 500 ids.",
                               fields={"message_ids": ["1 to 500 message ids."]})
    ids = [str(m) for m in message_ids if isinstance(m, str) and len(m) <= 40]
    session = _writable_session(session_id, reader)
    now = timezone.now()
    with transaction.atomic():
        valid = _valid_uuids(ids)
        rows = list(
            Message.objects.select_for_update().filter(
                session=session, sender=_other_side(reader.role), id__in=valid, status="sent"
            ).order_by("seq").values_list("row", "id")
        )
        if rows:
            Message.objects.filter(row__in=[r for r, _ in rows]).update(status="delivered", delivered_at=now)
        result = [str(i) for _, i in rows]
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
        scope = Message.objects.select_for_update().filter(
            session=session, sender=_other_side(reader.role), seq__lte=anchor, status__in=("sent", "delivered"))
        rows = list(scope.order_by("seq").values_list("row", "id"))
        ids = [str(i) for _, i in rows]
        if ids:
            # One UPDATE: read now, and delivered now too unless it already was.
            Message.objects.filter(row__in=[r for r, _ in rows]).update(
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
