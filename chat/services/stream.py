"""The session's ordered stream: every message (a participant's or the system's) gets the
next `seq` of its session, gapless, in commit order.

How: an append happens inside a transaction that holds the session's row lock (taken
first, `SELECT … FOR UPDATE`), reads `last_seq` under that lock and writes `last_seq + 1`
with the message. The lock is held until commit, so no other append of that session can
take a number before this one is visible: an app that holds seq N and sees N+2 knows for
certain that N+1 exists and fetches it (`after_seq=N`). The unique (session, seq) key
makes an append without the lock fail loudly instead of duplicating a number.
"""

from __future__ import annotations

from django.db import transaction

from ..models import Message, Session


def session_lock(session_id, *, fields: tuple[str, ...] = ()) -> Session | None:
    """The session row, locked for the rest of the transaction (None if it does not exist)."""
    qs = Session.objects.select_for_update()
    if fields:
        qs = qs.only("id", "last_seq", *fields)
    return qs.filter(pk=session_id).first()


def stream_append(session: Session, *, session_updates: dict | None = None, **fields) -> Message:
    """Store a message as the next of `session`'s stream. `session` must be locked in the
    current transaction (`session_lock`, or a `select_for_update` of the caller), read
    after the lock was taken. `session_updates` are written in the same UPDATE as the
    counter (the hot path saves a round trip)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stream_append needs the transaction that holds the session lock")
    seq = session.last_seq + 1
    Session.objects.filter(pk=session.pk).update(last_seq=seq, **(session_updates or {}))
    session.last_seq = seq
    for key, value in (session_updates or {}).items():
        setattr(session, key, value)
    message = Message.objects.create(session_id=session.pk, seq=seq, **fields)
    message.session = session
    return message
