"""`message.send` on the socket's event loop: the one statement, its event, what follows it.

The socket's hot path (bench/FINDINGS.md, N3). The common case of `messages.message_send` —
a writable session, its current participant, a new client_message_id — is one statement
(`messages.send_statement`, the same SQL); here it runs on the loop's own PostgreSQL
connection (halobestie/sockets/pg.py) instead of a pool thread, `message.new` leaves for both
participants in one publish, and the ack waits for neither of what may follow the commit: the
push (only when that publish reached no process with the recipient's socket) is queued on the
socket database pool afterwards, and the crisis checks of clients' messages go to a worker in
batches (`care.crisis_checks_queue`, at most `CRISIS_BATCH_SECONDS` after the commit).

Anything else — a retry (the idempotency key), a refusal, SQLite — returns None and the
caller takes `messages.message_send`, which decides it with the ORM and answers the same.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg

from halobestie import metrics
from halobestie.sockets import pg
from halobestie.sockets.db import in_background
from notifications.services import notify_new_message_now
from pairing.services import presence_resume

from .. import events
from ..shapes import message_data
from . import care, messages

CRISIS_BATCH_SECONDS = 0.05
CRISIS_BATCH_MAX = 200


class _CrisisBatch:
    """Stored client messages waiting to be handed to the crisis worker, one task per batch."""

    def __init__(self) -> None:
        self.stored: list[tuple] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, session_id, message_pk) -> None:
        self.stored.append((session_id, message_pk))
        if len(self.stored) >= CRISIS_BATCH_MAX:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(CRISIS_BATCH_SECONDS, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        stored, self.stored = self.stored, []
        if stored:
            in_background(care.crisis_checks_queue, stored)


_crisis_batch = _CrisisBatch()


@dataclass(frozen=True)
class StoredMessage:
    """What `message_data` reads of a message just stored (no model instance on the hot path)."""

    id: UUID
    session_id: UUID
    seq: int
    client_message_id: str
    sender: str
    body: str
    created_at: datetime
    status: str = "sent"
    delivered_at: None = None
    read_at: None = None


def available() -> bool:
    return pg.available()


async def message_send(sender, data: dict) -> dict | None:
    """The stored message's shape, or None: the caller takes the general path."""
    body, client_message_id = data.get("body"), data.get("client_message_id")
    sid = messages.send_validated(session_id=data.get("session_id"), client_message_id=client_message_id, body=body)
    sql, params = messages.send_statement(sid, sender, client_message_id, body)
    try:
        async with pg.connection() as conn:
            cursor = await conn.execute(sql, params)
            row = await cursor.fetchone()
    except psycopg.errors.IntegrityError:
        return None  # a retry of a stored message: nothing was written
    if row is None:
        return None  # not writable, or not this sender's session: the general path says why
    pk, seq, client_id, mitra_id, _state, _risk, was_away, _old_reason = row
    role = sender.role
    if role == "mitra" and was_away is not None:
        in_background(functools.partial(presence_resume, mitra=sender))
    shape = message_data(StoredMessage(id=params["mid"], session_id=sid, seq=seq, client_message_id=client_message_id,
                                       sender=role, body=body, created_at=params["now"]))
    listening = await events.message_new_now(shape, client_id=client_id, mitra_id=mitra_id)
    recipient_listening = None if listening is None else listening[1 if role == "client" else 0] > 0
    if not recipient_listening:
        in_background(functools.partial(notify_new_message_now, session_id=sid, message_id=params["mid"], sender=role,
                                        client_id=client_id, mitra_id=mitra_id,
                                        recipient_listening=recipient_listening))
    if role == "client":
        _crisis_batch.add(sid, pk)
    metrics.MESSAGES_BY_SENDER[role].inc()
    return shape
