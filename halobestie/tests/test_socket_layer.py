"""The channel layer (halobestie/sockets/layer.py): publishes that wait while a round trip is
in flight leave together in the next one; every message still reaches every subscriber of
its group exactly once; the reply says how many processes listen; a Redis that is gone is
an error the caller sees (publish_now logs it and answers None). Real Redis."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid

from django.conf import settings

from halobestie import realtime
from halobestie.sockets.layer import CoalescingPubSubChannelLayer


def _layer(hosts=None) -> CoalescingPubSubChannelLayer:
    return CoalescingPubSubChannelLayer(hosts=hosts or [settings.REDIS_URL], prefix=f"lt{uuid.uuid4().hex[:8]}")


def test_concurrent_publishes_share_round_trips_and_each_message_arrives_once():
    layer = _layer()

    async def scenario():
        inbox_a, inbox_b = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("room.a", inbox_a)
        await layer.group_add("room.b", inbox_b)
        publisher = layer._get_layer()._publishers[0]
        before = publisher.round_trips
        counts = await asyncio.gather(*[
            layer.group_send_many([("room.a", {"type": "app.event", "n": n}), ("room.b", {"type": "app.event", "n": n}),
                                   ("room.nobody", {"type": "app.event", "n": n})])
            for n in range(200)])
        trips = publisher.round_trips - before
        got_a = [(await asyncio.wait_for(layer.receive(inbox_a), 5))["n"] for _ in range(200)]
        got_b = [(await asyncio.wait_for(layer.receive(inbox_b), 5))["n"] for _ in range(200)]
        await layer.flush()
        return counts, trips, got_a, got_b

    counts, trips, got_a, got_b = asyncio.run(scenario())
    assert counts == [[1, 1, 0]] * 200  # one process listens to each room, nobody to the third
    assert sorted(got_a) == sorted(got_b) == list(range(200))  # each message once
    assert got_a == list(range(200))  # one publisher, one subscriber: in the order sent
    assert 1 <= trips < 50  # 600 publishes in far fewer round trips


def test_a_redis_that_is_gone_is_an_error_and_publish_now_answers_none(monkeypatch, caplog):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    layer = _layer(hosts=[f"redis://127.0.0.1:{port}/0"])
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: layer)

    async def scenario():
        try:
            await layer.group_send_many([("room.a", {"type": "app.event"})])
        except Exception as exc:  # noqa: BLE001 - which error redis-py raises is its business
            raised = type(exc).__name__
        else:
            raised = None
        answer = await realtime.publish_now(["client.x", "mitra.y"], "message.new", {"body": "rahasia"})
        return raised, answer

    raised, answer = asyncio.run(scenario())
    assert raised is not None and answer is None
    warnings = [r.getMessage() for r in caplog.records if "group_send failed" in r.getMessage()]
    assert warnings and all("rahasia" not in w for w in warnings)  # never the content


def test_publish_now_serialises_one_frame_for_every_group(monkeypatch):
    layer = _layer()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: layer)

    async def scenario():
        inbox = await layer.new_channel()
        await layer.group_add("client.1", inbox)
        await layer.group_add("mitra.2", inbox)
        counts = await realtime.publish_now(["client.1", "mitra.2"], "message.new", {"seq": 7})
        frames = [(await asyncio.wait_for(layer.receive(inbox), 5))["frame"] for _ in range(2)]
        await layer.flush()
        return counts, frames

    counts, frames = asyncio.run(scenario())
    assert counts == [1, 1]
    assert [json.loads(f) for f in frames] == [{"type": "message.new", "data": {"seq": 7}}] * 2
