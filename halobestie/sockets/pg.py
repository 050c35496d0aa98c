"""PostgreSQL on the event loop, for the socket's hottest statement (`message.send`).

A frame on the socket database pool (db.py) costs two thread hops, Django's connection
handling and the ORM around one statement; on the loop it costs the statement. psycopg's
async pool (`SOCKET_LOOP_DB_CONNECTIONS` connections per process, autocommit: the statement
is its own transaction) runs it without leaving the loop.

Only for statements that are a whole transaction by themselves; everything else stays on
the thread pool with the ORM. PostgreSQL only: with SQLite (the embedded mode) `available()`
is false and callers take the ORM path. Waiting for a connection counts as waiting for the
database in the admission gate (db.py), like waiting for a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from django.conf import settings
from django.db import connections
from psycopg_pool import AsyncConnectionPool

from .db import gate

_pools: dict[asyncio.AbstractEventLoop, asyncio.Future] = {}


def available() -> bool:
    return settings.SOCKET_LOOP_DB_CONNECTIONS > 0 and connections["default"].vendor == "postgresql"


def _conninfo() -> dict:
    """The default database's address, read when the pool opens (tests rename the database)."""
    sd = connections["default"].settings_dict
    kwargs = {"dbname": sd["NAME"], "host": sd.get("HOST"), "port": sd.get("PORT"), "user": sd.get("USER"),
              "password": sd.get("PASSWORD")}
    kwargs = {k: str(v) for k, v in kwargs.items() if v not in (None, "")}
    kwargs.update(autocommit=True, application_name="halobestie-socket")
    return kwargs


async def _open() -> AsyncConnectionPool:
    pool = AsyncConnectionPool(kwargs=_conninfo(), min_size=1, max_size=settings.SOCKET_LOOP_DB_CONNECTIONS,
                               timeout=settings.DATABASES["default"].get("OPTIONS", {}).get("pool", {}).get(
                                   "timeout", 3.0), open=False, name="socket-loop")
    await pool.open()
    return pool


async def _pool() -> AsyncConnectionPool:
    loop = asyncio.get_running_loop()
    future = _pools.get(loop)
    if future is None or (future.done() and future.exception() is not None):
        for stale in [other for other in _pools if other.is_closed()]:
            del _pools[stale]
        future = _pools[loop] = asyncio.ensure_future(_open())
    return await asyncio.shield(future)


@contextlib.asynccontextmanager
async def connection(*, shed: bool = True):
    """A connection of this loop's pool, through the admission gate."""
    g = gate()
    if shed:
        g.admit()
    pool = await _pool()
    asked = time.monotonic()
    g.waiting += 1
    try:
        async with pool.connection() as conn:
            g.observe(time.monotonic() - asked)
            yield conn
    finally:
        g.waiting -= 1


async def close_all() -> None:
    """Close this loop's pool (tests, shutdown)."""
    future = _pools.pop(asyncio.get_running_loop(), None)
    if future is not None and future.done() and future.exception() is None:
        await future.result().close()
