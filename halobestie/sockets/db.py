"""Database work of socket frames: on a bounded pool of threads, with admission control.

Channels' `database_sync_to_async` is thread-sensitive: every socket of a process does its
database work on one thread, which under load waits on PostgreSQL round trips while
PostgreSQL sits idle (bench/FINDINGS.md). Frames here run on `SOCKET_DB_THREADS` threads
instead (each with its own connection from the pool). That is safe for ordering: frames of
one socket are still handled one after another (the consumer awaits each), and across
sockets the session's row lock gives every message its `seq` in commit order
(chat/services/stream.py), so apps see one order whatever thread stored what.

Overload: a process is past what it can carry when a frame waited longer than
`SOCKET_DB_MAX_WAIT` seconds for a thread or a database connection (the database is the
limit), when a frame reaches its handler more than `SOCKET_DB_MAX_WAIT` seconds after it
arrived (a socket's frames are handled one after another, so a backlog builds per socket,
where no pool wait shows it: the consumer stamps each frame as it arrives, `frame_arrived`),
or when its event loop runs late by more than `SOCKET_MAX_LOOP_LAG` seconds (the
process's CPU is: frames queue in the server's per-socket buffers before any handler runs,
where no pool wait shows it — bench finding N2). Then write frames are refused at once with
the contract's `throttled` error and a `retry_after` hint, instead of queueing into
multi-second latency, until the queue drains and the loop is on time again. Nothing
accepted is dropped: a refused frame was never started, and `ack` still means stored.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from functools import wraps

from channels.db import DatabaseSyncToAsync
from django.conf import settings

from halobestie.errors import ApplicationError

logger = logging.getLogger(__name__)


class LoopLag:
    """How late the running event loop wakes a timer: rises at once, decays over ~0.1 s."""

    INTERVAL = 0.02

    def __init__(self) -> None:
        self.lag = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None

    def watch(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._task is None or self._task.done():
            self._loop, self.lag = loop, 0.0
            self._task = loop.create_task(self._tick())

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(self.INTERVAL)
            late = loop.time() - asked - self.INTERVAL
            self.lag = late if late > self.lag else self.lag * 0.7 + late * 0.3


# When the frame being handled arrived (time.monotonic()), set by the socket consumer.
frame_arrived: contextvars.ContextVar[float | None] = contextvars.ContextVar("frame_arrived", default=None)


class Gate:
    def __init__(self, threads: int, max_wait: float, max_lag: float = 0.0) -> None:
        self.threads = threads
        self.max_wait = max_wait
        self.max_lag = max_lag
        self.loop_lag = LoopLag()
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
        if self.shedding and self.waiting == 0:
            # Nothing queued or running: the backlog is gone. Only admitted frames report
            # their wait, so without this a process whose sockets send only shed frames
            # (clients: no heartbeats) would refuse for ever (bench finding N1).
            self.shedding = False
        arrived = frame_arrived.get()
        late = arrived is not None and time.monotonic() - arrived > self.max_wait
        if self.max_lag > 0 and not late:
            self.loop_lag.watch()
            late = self.loop_lag.lag > self.max_lag
        if self.shedding or late:
            self.refused += 1
            raise ApplicationError("throttled", "The server is busy; retry this frame shortly.",
                                   retry_after=round(max(0.5, self.max_wait * 2), 1))


_gate: Gate | None = None


def gate() -> Gate:
    global _gate
    if _gate is None:
        _gate = Gate(settings.SOCKET_DB_THREADS, settings.SOCKET_DB_MAX_WAIT, settings.SOCKET_MAX_LOOP_LAG)
    return _gate


_background: set[asyncio.Future] = set()


def in_background(func, *args) -> None:
    """Run a blocking (ORM) function on the pool after the frame was answered: its result is
    not the frame's (a crisis check, a push). Never refused; a failure is logged."""

    async def run():
        try:
            await DatabaseSyncToAsync(func, thread_sensitive=False, executor=gate().pool)(*args)
        except Exception:
            logger.exception("background socket work failed: %s", getattr(func, "__name__", func))

    task = asyncio.ensure_future(run())
    _background.add(task)
    task.add_done_callback(_background.discard)


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
