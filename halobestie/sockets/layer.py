"""The channel layer: channels_redis' pub/sub layer, with the publishes of a process coalesced.

channels_redis publishes one message per round trip, under a lock per shard: every
`group_send` of the process waits for the one before it to be answered by Redis (bench
finding N3: the channel layer was 30% of the server's time per message). Here every
publish waiting while a round trip is in flight goes out together in the next one, as a
pipeline (no MULTI): under load one write and one read carry the events of many messages,
and an idle process still sends at once (no timer, no added latency).

`group_send_many` sends several groups' messages in one go and answers, per group, how many
processes have a socket in it (PUBLISH's reply: in the pub/sub layer a process subscribes to
a group while one of its sockets is in it), which is what "has the recipient a live socket"
means for a push.

Groups work exactly as in channels_redis. A socket's own channel (`new_channel`) is local
to its process here: channels_redis subscribes to it in Redis (a SUBSCRIBE and later an
UNSUBSCRIBE per socket, each a round trip under the shard's lock: part of N4's cost per new
connection), so that another process could `send()` to that one socket; nothing here does —
every event goes to a user's group (realtime.py), which reaches all of the user's sockets in
every process. A `send()` to a channel of this process still arrives; one to another
process's channel goes nowhere.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, _async_proxy
from channels_redis.utils import _wrap_close, create_pool
from redis import asyncio as aioredis

logger = logging.getLogger(__name__)


class _Publisher:
    """One per shard and event loop: publishes queued while a round trip is in flight go in
    the next pipeline."""

    def __init__(self, host) -> None:
        self._redis = aioredis.Redis(connection_pool=create_pool(host))
        self._pending: list[tuple[list[tuple[str, bytes]], asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None
        self.round_trips = 0

    async def publish(self, items: list[tuple[str, bytes]]) -> list[int]:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((items, future))
        if self._flusher is None:
            self._flusher = asyncio.ensure_future(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for items, _ in batch:
                            for channel, payload in items:
                                pipe.publish(channel, payload)
                        self.round_trips += 1
                        replies = await pipe.execute()
                except Exception as exc:  # noqa: BLE001 - each caller decides what a failed publish means
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                at = 0
                for items, future in batch:
                    if not future.done():
                        future.set_result(replies[at:at + len(items)])
                    at += len(items)
        finally:
            self._flusher = None

    async def close(self) -> None:
        await self._redis.aclose()


class CoalescingLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts=None, *args, **kwargs) -> None:
        super().__init__(hosts, *args, **kwargs)
        self._publishers = [_Publisher(shard.host) for shard in self._shards]

    async def new_channel(self, prefix="specific."):
        channel = f"{self.prefix}{prefix}{uuid.uuid4().hex}"
        self.channels[channel] = asyncio.Queue()  # local: no SUBSCRIBE (module docstring)
        return channel

    async def receive(self, channel):
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue()
        try:
            message = await queue.get()
        except (TimeoutError, asyncio.CancelledError, GeneratorExit):
            self.channels.pop(channel, None)  # the consumer is gone (as channels_redis assumes)
            raise
        return self.channel_layer.deserialize(message)

    async def send(self, channel, message) -> None:
        queue = self.channels.get(channel)
        if queue is not None:
            queue.put_nowait(self.channel_layer.serialize(message))

    def _publisher(self, channel: str) -> _Publisher:
        return self._publishers[self._shards.index(self._get_shard(channel))]

    async def group_send(self, group, message) -> None:
        await self.group_send_many([(group, message)])

    async def group_send_many(self, sends: list[tuple[str, dict]]) -> list[int]:
        """Publish each (group, message); per send, the number of processes listening."""
        by_publisher: dict[_Publisher, list[tuple[int, str, bytes]]] = {}
        for i, (group, message) in enumerate(sends):
            channel = self._get_group_channel_name(group)
            by_publisher.setdefault(self._publisher(channel), []).append(
                (i, channel, self.channel_layer.serialize(message)))
        counts = [0] * len(sends)
        for publisher, items in by_publisher.items():
            replies = await publisher.publish([(channel, payload) for _, channel, payload in items])
            for (i, _, _), reply in zip(items, replies, strict=True):
                counts[i] = reply
        return counts

    async def flush(self) -> None:
        await super().flush()
        for publisher in self._publishers:
            await publisher.close()


class CoalescingPubSubChannelLayer(RedisPubSubChannelLayer):
    """Configured like channels_redis' RedisPubSubChannelLayer (hosts, prefix, keys)."""

    def __getattr__(self, name):
        if name == "group_send_many":
            return functools.partial(_async_proxy, self, name)
        return super().__getattr__(name)

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = self._layers[loop] = CoalescingLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
            return layer
