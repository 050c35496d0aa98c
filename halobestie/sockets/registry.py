"""Which users have a live socket right now (to decide whether a push is needed).

Redis mode: one sorted set per user group, member = channel name, score = expiry time;
a crashed process's entries simply expire. Embedded mode: the same in a dict.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

TTL_SECONDS = 90
REFRESH_SECONDS = 30


def _key(group: str) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'hb')}:sockets:{group}"


_memory: dict[str, dict[str, float]] = {}
_memory_lock = threading.Lock()
_sync_client = None
_async_clients: dict[int, object] = {}


def _redis_sync():
    global _sync_client
    if _sync_client is None:
        import redis

        _sync_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    return _sync_client


def _redis_async():
    import asyncio

    import redis.asyncio as aredis

    loop_id = id(asyncio.get_running_loop())
    client = _async_clients.get(loop_id)
    if client is None:
        # A blocking pool: 5,000 sockets closing at once wait for a connection instead of
        # hitting redis-py 8's MaxConnectionsError (measured in bench/).
        pool = aredis.BlockingConnectionPool.from_url(settings.REDIS_URL, max_connections=64, timeout=10,
                                                      socket_timeout=2)
        client = aredis.Redis(connection_pool=pool)
        _async_clients[loop_id] = client
    return client


async def touch(group: str, channel_name: str) -> None:
    expires = time.time() + TTL_SECONDS
    if settings.EMBEDDED:
        with _memory_lock:
            _memory.setdefault(group, {})[channel_name] = expires
        return
    client = _redis_async()
    key = _key(group)
    async with client.pipeline(transaction=False) as pipe:
        pipe.zadd(key, {channel_name: expires})
        pipe.zremrangebyscore(key, "-inf", time.time())
        pipe.expire(key, TTL_SECONDS * 2)
        await pipe.execute()


async def remove(group: str, channel_name: str) -> None:
    if settings.EMBEDDED:
        with _memory_lock:
            _memory.get(group, {}).pop(channel_name, None)
        return
    await _redis_async().zrem(_key(group), channel_name)


def has_live_socket(group: str) -> bool:
    now = time.time()
    if settings.EMBEDDED:
        with _memory_lock:
            return any(exp > now for exp in _memory.get(group, {}).values())
    try:
        return _redis_sync().zcount(_key(group), now, "+inf") > 0
    except Exception:  # noqa: BLE001 - unknown: push anyway (a duplicate beats a miss)
        return False
