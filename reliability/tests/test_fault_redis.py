"""Redis restarts in the middle of live chats: nothing acked is lost, nothing is doubled.

The server subprocess uses a private redis-server (channel layer, cache) that the test
kills and starts again while both sides of two sessions are sending over their sockets.
Sockets may drop or stall; a side whose send goes unanswered reconnects and retries with
the same client_message_id. Afterwards each side catches up through the cursor API from
the last message it had before the fault, as the apps do, and must then hold every acked
message of the conversation exactly once, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import httpx
import pytest

from chat.models import Message
from halobestie.testing.fixtures import make_client, make_mitra, start_trial_session
from halobestie.testing.live import WsClient
from reliability.faults import CapturingServer, PrivateRedis
from reliability.figures import record

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SENDS_PER_SIDE = 40
GAP = 0.07  # seconds between one side's sends (under the socket flood limit)
ACK_TIMEOUT = 3.0
REST_SENDS = 20


class Side:
    """One app: a socket it keeps alive, what it has seen, what it sent and had acked."""

    def __init__(self, server, actor, role: str, session_id: str):
        self.server, self.actor, self.role, self.session_id = server, actor, role, session_id
        self.ws: WsClient | None = None
        self.acked: dict[str, str] = {}  # client_message_id -> message id
        self.seen: list[str] = []  # message ids in the order they reached this app
        self.seq_of: dict[str, int] = {}  # message id -> its seq in the session's stream
        self.reconnects = 0
        self.cursor = 0  # the highest seq held without a gap (the contract's catch-up cursor)

    async def connect(self):
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
            self.reconnects += 1
        for _ in range(50):
            try:
                self.ws = await WsClient(f"{self.server.ws_url}/ws/{self.role}/", self.actor.token).connect()
                return
            except Exception:  # noqa: BLE001 - the server may be refusing while Redis is down
                await asyncio.sleep(0.2)
        raise AssertionError(f"{self.role} could not reconnect")

    def harvest(self):
        """message.new frames this socket got since the last look."""
        for frame in self.ws.frames:
            if frame["type"] == "message.new" and frame["data"]["session_id"] == self.session_id:
                if frame["data"]["id"] not in self.seen:
                    self.seen.append(frame["data"]["id"])
                self.seq_of[frame["data"]["id"]] = frame["data"]["seq"]
        self.ws.frames = [f for f in self.ws.frames if f["type"] != "message.new"]

    async def send(self, n: int):
        cmid = f"{self.role}-{n}"
        data = {"session_id": self.session_id, "client_message_id": cmid, "body": f"{self.role} {n}"}
        for _attempt in range(20):
            try:
                answer = await self.ws.request("message.send", data, timeout=ACK_TIMEOUT)
            except AssertionError:  # no answer: the socket dropped or stalled
                self.harvest()
                await self.connect()
                continue
            if answer["type"] == "ack":
                self.acked[cmid] = answer["data"]["id"]
                return
            if answer["data"].get("code") in ("throttled",):
                await asyncio.sleep(0.5)
                continue
            raise AssertionError(f"{self.role} send {n}: {answer}")
        raise AssertionError(f"{self.role} send {n} never acked")

    def contiguous_seq(self, ids) -> int:
        """The highest seq held without a gap among these messages."""
        held = {self.seq_of[i] for i in ids}
        n = 0
        while n + 1 in held:
            n += 1
        return n

    async def catch_up(self, http: httpx.AsyncClient) -> list[str]:
        """GET …/messages?after_seq=<cursor> until next is null; returns the ids listed.
        Events from several server threads may arrive out of seq order; the stream's order
        is seq (api.md), and the cursor is the highest seq held without a gap."""
        listed: list[str] = []
        after = self.cursor
        while True:
            params = {"limit": 50, "after_seq": after}
            r = await http.get(
                f"/api/{self.role}/sessions/{self.session_id}/messages",
                params=params,
                headers={"Authorization": f"Bearer {self.actor.token}"},
            )
            assert r.status_code == 200, r.text
            page = r.json()
            listed += [m["id"] for m in page["results"]]
            self.seq_of.update({m["id"]: m["seq"] for m in page["results"]})
            if not page["next"]:
                return listed
            after = page["next"]


@pytest.fixture
def private_redis():
    redis_server = PrivateRedis().start()
    yield redis_server
    redis_server.cleanup()


def test_redis_restart_during_live_chats_loses_and_doubles_nothing(private_redis):
    # Celery not eager: pushes go to the (restarting) broker as in production.
    server = CapturingServer(env={"REDIS_URL": private_redis.url, "CELERY_TASK_ALWAYS_EAGER": "False"}).start()
    try:
        sessions = []
        for i in range(2):
            client, mitra = make_client(f"Klien{i}"), make_mitra(f"Mitra{i}", online=True)
            sid = start_trial_session(client, mitra)["id"]
            sessions.append((Side(server, client, "client", sid), Side(server, mitra, "mitra", sid)))
        sides = [s for pair in sessions for s in pair]
        sides_first = sides[0]
        restarted = asyncio.run(_chat_through_a_restart(server, private_redis, sides))
    finally:
        server.stop()

    for client_side, mitra_side in sessions:
        sid = client_side.session_id
        db_rows = list(Message.objects.filter(session_id=sid).order_by("seq").values_list("id", "client_message_id"))
        db_ids = [str(i) for i, _ in db_rows]
        # The retries never doubled a message: one row per client_message_id.
        per_key = Counter(c for _, c in db_rows if c)
        assert per_key and set(per_key.values()) == {1}
        acked = {**client_side.acked, **mitra_side.acked}
        assert len(acked) == 2 * SENDS_PER_SIDE + (REST_SENDS if client_side is sides_first else 0)
        for side in (client_side, mitra_side):
            held = side.before + [i for i in side.listed if i not in side.before]
            assert len(held) == len(set(held)), f"{side.role} holds a message twice"
            assert len(side.listed) == len(set(side.listed)), "the cursor API listed a message twice"
            view = sorted(held, key=side.seq_of.__getitem__)  # the conversation in stream order
            assert [side.seq_of[i] for i in view] == list(range(1, len(view) + 1)), f"{side.role} has a gap"
            assert view == db_ids, f"{side.role}'s conversation differs from the database"
            assert set(acked.values()) <= set(view)
    assert "Internal Server Error" not in server.output()
    recovered = sum(len(set(s.listed) - set(s.seen)) for s in sides)
    record(
        "Redis restart",
        f"{restarted} kill+restart of the server's Redis during {len(sessions)} live chats: "
        f"{4 * SENDS_PER_SIDE + REST_SENDS} acked messages (socket and REST), "
        f"{sum(s.reconnects for s in sides)} reconnects, {recovered} missed events recovered "
        f"by cursor catch-up, 0 lost, 0 doubled",
    )


async def _chat_through_a_restart(server, private_redis, sides) -> int:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        for side in sides:
            await side.connect()
            side.seen = await side.catch_up(http)  # opening the chat: its history so far

    async def rest_talk(side: Side, count: int):
        """The same app also posting over REST (the path throttled on the Redis cache)."""
        async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
            for n in range(count):
                cmid = f"{side.role}-rest-{n}"
                r = await http.post(
                    f"/api/{side.role}/sessions/{side.session_id}/messages",
                    json={"client_message_id": cmid, "body": f"rest {n}"},
                    headers={"Authorization": f"Bearer {side.actor.token}"},
                )
                assert r.status_code in (200, 201), f"REST send during the Redis restart: {r.status_code} {r.text}"
                side.acked[cmid] = r.json()["id"]
                await asyncio.sleep(GAP)

    async def talk(side: Side, start: int, stop: int):
        for n in range(start, stop):
            await side.send(n)
            side.harvest()
            await asyncio.sleep(GAP)

    half = SENDS_PER_SIDE // 2
    await asyncio.gather(*(talk(s, 0, half) for s in sides))
    # Let the last events of the first half arrive, then note each app's cursor.
    await asyncio.sleep(0.3)
    for side in sides:
        side.harvest()
        side.before = list(side.seen)
        side.cursor = side.contiguous_seq(side.before)
    rest = asyncio.create_task(rest_talk(sides[0], REST_SENDS))
    await asyncio.to_thread(private_redis.restart)
    await asyncio.gather(*(talk(s, half, SENDS_PER_SIDE) for s in sides), rest)
    # Live delivery resumed by itself: the other side's last message arrived over the socket.
    for side in sides:
        other = next(o for o in sides if o.session_id == side.session_id and o is not side)
        last = other.acked[f"{other.role}-{SENDS_PER_SIDE - 1}"]
        for _ in range(50):
            side.harvest()
            if last in side.seen:
                break
            await asyncio.sleep(0.1)
        assert last in side.seen, f"{side.role}: live events did not resume after the restart"
    # After the fault each app resyncs from its cursor (as on reconnect or a stalled ping).
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        for side in sides:
            side.listed = await side.catch_up(http)
    for side in sides:
        with contextlib.suppress(Exception):
            await side.ws.close()
    return 1
