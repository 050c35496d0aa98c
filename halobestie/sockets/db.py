"""Database work of socket frames: on a bounded pool of threads, with admission control.

Channels' `database_sync_to_async` is thread-sensitive: every socket of a process does its
database work on one thread, which under load waits on PostgreSQL round trips while
PostgreSQL sits idle (bench/FINDINGS.md). Frames here run on `SOCKET_DB_THREADS` threads
instead (each with its own connection from the pool). That is safe for ordering: frames of
one socket are still handled one after another (the consumer awaits each), and across
sockets the session's row lock gives every message its `seq` in commit order
(chat/services/stream.py), so apps see one order whatever thread stored what.

Overload: when a frame waited longer than `SOCKET_DB_MAX_WAIT` seconds for a thread, the
process is past what it can carry. Until the queue drains (a frame starts within half of
that), write frames are refused at once with the contract's `throttled` error and a
`retry_after` hint, instead of queueing into multi-second latency. Nothing accepted is
dropped: a refused frame was never started, and `ack` still means stored.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from functools import wraps

from channels.db import DatabaseSyncToAsync
from django.conf import settings

from halobestie.errors import ApplicationError


class Gate:
    def __init__(self, threads: int, max_wait: float) -> None:
        self.threads = threads
        self.max_wait = max_wait
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="socket-db")
        self.shedding = False
        self.waiting = 0
        self.refused = 0

    def observe(self, waited: float) -> None:
        if waited > self.max_wait:
            self.shedding = True
        elif waited < self.max_wait / 2:
            self.shedding = False

    def admit(self) -> None:
        if self.shedding:
            self.refused += 1
            raise ApplicationError("throttled", "The server is busy; retry this frame shortly.",
                                   retry_after=round(max(0.5, self.max_wait * 2), 1))


_gate: Gate | None = None


def gate() -> Gate:
    global _gate
    if _gate is None:
        _gate = Gate(settings.SOCKET_DB_THREADS, settings.SOCKET_DB_MAX_WAIT)
    return _gate


def socket_db(fn=None, *, shed: bool = True):
    """Decorate a blocking (ORM) function a socket handler awaits. `shed=False` for frames
    that must pass even under overload (a heartbeat keeps a mitra online)."""

    def decorate(func):
        @wraps(func)
        async def run(*args, **kwargs):
            g = gate()
            if shed:
                g.admit()
            submitted = time.monotonic()

            def timed(*a, **kw):
                g.observe(time.monotonic() - submitted)
                return func(*a, **kw)

            g.waiting += 1
            try:
                return await DatabaseSyncToAsync(timed, thread_sensitive=False, executor=g.pool)(*args, **kwargs)
            finally:
                g.waiting -= 1

        return run

    return decorate(fn) if fn is not None else decorate
