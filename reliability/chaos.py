"""Bots for the flaky-network chaos test: clients and mitras that talk to real servers the
way the apps must (see the README's "Sessions on flaky networks").

Each bot holds one socket to one of the web processes, sends messages over the socket or
over REST, and keeps its own reconstruction of every session stream it can see: events
(`message.new`) plus catch-up (`GET …/messages?after_seq=N`) after every reconnect, after
every gap in `seq` and at the end. Faults are injected by the test's schedule: a socket
killed without a close frame (`transport.abort()`, a TCP reset), heartbeats paused past
`auto_offline_after`, and the return afterwards.

Everything a bot observes is recorded with wall-clock times (the servers run on the same
machine and clock), so the test can check the invariants against the database afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from dataclasses import dataclass, field

import httpx
import websockets


@dataclass
class Stream:
    """One session's messages as one side reconstructed them: seq → id."""

    by_seq: dict[int, str] = field(default_factory=dict)
    conflicts: list[tuple] = field(default_factory=list)  # the same seq with two ids, or an id twice
    lost_access: bool = False

    def add(self, seq: int, mid: str) -> None:
        known = self.by_seq.get(seq)
        if known is None:
            if mid in self.by_seq.values():
                self.conflicts.append(("id_twice", seq, mid))
            self.by_seq[seq] = mid
        elif known != mid:
            self.conflicts.append(("seq_twice", seq, known, mid))

    @property
    def contiguous_to(self) -> int:
        n = 0
        while n + 1 in self.by_seq:
            n += 1
        return n

    @property
    def top(self) -> int:
        return max(self.by_seq, default=0)


@dataclass
class Ack:
    session_id: str
    message_id: str
    seq: int
    via: str  # "socket" | "rest"
    at: float


class Bot:
    """A client or mitra app. `servers` are the web processes' base URLs (http)."""

    def __init__(self, *, role: str, user_id: str, token: str, servers: list[str], rng: random.Random,
                 stats: dict):
        self.role = role
        self.user_id = user_id
        self.token = token
        self.servers = servers
        self.rng = rng
        self.stats = stats
        self.streams: dict[str, Stream] = {}
        self.sessions: set[str] = set()  # sessions this side currently takes part in
        self.acks: list[Ack] = []
        self.activity: list[tuple[float, str]] = []  # acked proofs of presence: (time, what)
        self.ws = None
        self._http: dict[str, httpx.AsyncClient] = {}
        self.reader: asyncio.Task | None = None
        self.connected = asyncio.Event()
        self.pending: dict[str, asyncio.Future] = {}
        self.away_until = 0.0       # heartbeats and sockets paused until then (a dead network)
        self.deactivated = False
        self.stopped = False
        self.server = servers[0]
        self.n = 0
        self.extension_asked: set[str] = set()
        self.receipts: dict[str, int] = {}
        self.on_event = None  # the test's hook for events it drives (extensions)

    # --- connection ------------------------------------------------------------------

    @property
    def http(self) -> httpx.AsyncClient:
        """The REST client for the process this app talks to now (one per process, so a
        request in flight survives a switch to another one)."""
        if self.server not in self._http:
            self._http[self.server] = httpx.AsyncClient(
                base_url=self.server, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
        return self._http[self.server]

    async def start(self, server: str) -> None:
        self.server = server
        await self.connect()

    async def connect(self) -> bool:
        url = self.server.replace("http://", "ws://") + f"/ws/{self.role}/"
        try:
            self.ws = await websockets.connect(url, additional_headers={"Authorization": f"Bearer {self.token}"},
                                               max_size=None, open_timeout=20, ping_interval=None)
        except (TimeoutError, OSError, websockets.exceptions.WebSocketException):
            self.stats["connect_failures"] += 1
            return False
        self.reader = asyncio.create_task(self._read(self.ws))
        try:
            await asyncio.wait_for(self.connected.wait(), 20)
        except TimeoutError:
            self.stats["auth_timeouts"] += 1
            return False
        await self.catch_up_all()
        return True

    def kill_socket(self) -> None:
        """The network dies: no close frame, the server sees a reset."""
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.ws.transport.abort()
        self.connected.clear()
        self.stats["sockets_killed"] += 1

    async def reconnect(self) -> None:
        """Back-off and reconnect, to any web process."""
        delay = 0.3
        while not self.stopped and not self.deactivated:
            self.server = self.rng.choice(self.servers)
            if await self.connect():
                self.stats["reconnects"] += 1
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 4)

    async def _read(self, ws) -> None:
        try:
            async for raw in ws:
                frame = json.loads(raw)
                await self._handle(frame)
        except (websockets.exceptions.WebSocketException, OSError):
            pass
        finally:
            if ws is self.ws:
                self.connected.clear()
                code = ws.close_code
                if code in (4401, 4403):
                    self.deactivated = self.role == "mitra"
                for fut in self.pending.values():
                    if not fut.done():
                        fut.set_exception(ConnectionError("socket closed"))
                self.pending.clear()

    async def _handle(self, frame: dict) -> None:
        kind, data = frame.get("type"), frame.get("data") or {}
        if kind == "auth.ok":
            self.activity.append((time.time(), "auth"))
            self.connected.set()
        elif kind in ("ack", "error") and frame.get("ref") in self.pending:
            fut = self.pending.pop(frame["ref"])
            if not fut.done():
                fut.set_result(frame)
        elif kind == "message.new":
            self._take(data)
        elif kind == "session.reassigned":
            sid = data["session_id"]
            if data.get("session") is None:
                self.sessions.discard(sid)
                self.streams.setdefault(sid, Stream()).lost_access = True
            else:
                self.sessions.add(sid)
                self.streams.setdefault(sid, Stream()).lost_access = False
                asyncio.create_task(self.take_over(sid))
        elif kind == "session.updated":
            if data.get("state") in ("closed", "cancelled"):
                self.sessions.discard(data["id"])
        elif kind == "message.status":
            rank = {"sent": 0, "delivered": 1, "read": 2}[data["status"]]
            for mid in data["message_ids"]:
                if rank < self.receipts.get(mid, 0):
                    self.stats["receipt_went_backwards"] += 1
                self.receipts[mid] = max(rank, self.receipts.get(mid, 0))
        elif kind == "extension.requested" and self.on_event:
            asyncio.create_task(self.on_event(self, kind, data))
        elif kind == "extension.updated" and self.on_event:
            asyncio.create_task(self.on_event(self, kind, data))

    def _take(self, m: dict) -> None:
        sid = m["session_id"]
        stream = self.streams.setdefault(sid, Stream())
        before = stream.contiguous_to
        stream.add(m["seq"], m["id"])
        self.stats["events_seen"] += 1
        if m["sender"] not in (self.role, "system"):
            roll = self.rng.random()
            if roll < 0.2:
                asyncio.create_task(self.request("message.read", {"session_id": sid, "up_to": m["id"]}))
            elif roll < 0.5:
                asyncio.create_task(self.request("message.delivered", {"session_id": sid, "message_ids": [m["id"]]}))
        if m["seq"] > before + 1:
            # A gap: something in between exists (seq is gapless); fetch it.
            self.stats["gaps_seen"] += 1
            asyncio.create_task(self.catch_up(sid))

    # --- catch-up ----------------------------------------------------------------------

    async def catch_up(self, sid: str) -> None:
        stream = self.streams.setdefault(sid, Stream())
        cursor = stream.contiguous_to
        busy = 0
        for _ in range(200):
            try:
                r = await self.http.get(f"/api/{self.role}/sessions/{sid}/messages",
                                        params={"after_seq": cursor, "limit": 200})
            except httpx.HTTPError:
                self.stats["catchup_errors"] += 1
                return
            if r.status_code in (429, 503) and busy < 6:
                # The server is busy (a reconnect storm): back off and try again, as an app does.
                busy += 1
                self.stats[f"catchup_retry_{r.status_code}"] += 1
                await asyncio.sleep(0.5 * 2 ** busy * self.rng.uniform(0.5, 1.5))
                continue
            if r.status_code == 404:
                stream.lost_access = True  # rerouted away: the stream ends here for this side
                self.sessions.discard(sid)
                return
            if r.status_code != 200:
                self.stats["catchup_errors"] += 1
                return
            page = r.json()
            for m in page["results"]:
                stream.add(m["seq"], m["id"])
            self.stats["catchup_fetches"] += 1
            if page["next"] is None:
                return
            cursor = int(page["next"])

    async def take_over(self, sid: str) -> None:
        """A session handed to this mitra: read the history, then greet the client (a mitra
        answers a new session at once, well within the no-show time)."""
        await self.catch_up(sid)
        if not self.stopped and not self.away:
            await self.send_message(sid)

    async def catch_up_all(self) -> None:
        try:
            r = await self.http.get(f"/api/{self.role}/sessions", params={"state": "live", "limit": 200})
            if r.status_code == 200:
                for s in r.json()["results"]:
                    if s["id"] not in self.sessions and self.role == "mitra" and not self.stopped:
                        self.sessions.add(s["id"])
                        asyncio.create_task(self.take_over(s["id"]))
                    self.sessions.add(s["id"])
        except httpx.HTTPError:
            self.stats["catchup_errors"] += 1
            return
        for sid in list(self.sessions | {s for s, st in self.streams.items() if not st.lost_access}):
            await self.catch_up(sid)

    # --- sending -----------------------------------------------------------------------

    async def request(self, kind: str, data: dict, timeout: float = 20) -> dict | None:
        if self.ws is None or not self.connected.is_set():
            return None
        self.n += 1
        ref = f"{self.user_id[:8]}-{self.n}"
        fut = asyncio.get_running_loop().create_future()
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved, even if nobody waits
        self.pending[ref] = fut
        try:
            await self.ws.send(json.dumps({"type": kind, "ref": ref, "data": data}))
            return await asyncio.wait_for(fut, timeout)
        except (TimeoutError, ConnectionError, websockets.exceptions.WebSocketException, OSError):
            self.pending.pop(ref, None)
            return None

    async def send_message(self, sid: str) -> None:
        """A message over the socket or REST; a failed attempt is retried with the same
        client_message_id (the idempotency key), as an app would."""
        self.n += 1
        cmid = f"{self.role[0]}{self.user_id[:8]}-{self.n}"
        body = f"pesan {self.n} dari {self.role}"
        for attempt in range(6):
            via = "socket" if (self.rng.random() < 0.5 and self.connected.is_set()) else "rest"
            message = None
            if via == "socket":
                frame = await self.request("message.send", {"session_id": sid, "client_message_id": cmid,
                                                            "body": body})
                if frame is not None and frame["type"] == "ack":
                    message = frame["data"]
                elif frame is not None and frame["data"].get("code") == "throttled":
                    # The server is past what it can carry: wait as told, then retry (same key).
                    self.stats["send_throttled_retried"] += 1
                    await asyncio.sleep(float(frame["data"].get("retry_after") or 1) * self.rng.uniform(1, 2))
                    continue
                elif frame is not None:
                    self.stats[f"send_refused_{frame['data'].get('code')}"] += 1
                    return
            else:
                try:
                    r = await self.http.post(f"/api/{self.role}/sessions/{sid}/messages",
                                             json={"client_message_id": cmid, "body": body})
                except httpx.HTTPError:
                    r = None
                if r is not None and r.status_code in (200, 201):
                    message = r.json()
                elif r is not None and r.status_code == 429:
                    self.stats["send_throttled_retried"] += 1
                    await asyncio.sleep(float(r.headers.get("Retry-After") or 1))
                    continue
                elif r is not None and r.status_code < 500:
                    self.stats[f"send_refused_{r.json().get('code')}"] += 1
                    return
            if message is not None:
                self.acks.append(Ack(sid, message["id"], message["seq"], via, time.time()))
                self.streams.setdefault(sid, Stream()).add(message["seq"], message["id"])
                if self.role == "mitra":
                    self.activity.append((time.time(), "message"))
                self.stats[f"acked_{via}"] += 1
                return
            self.stats["send_retries"] += 1
            await asyncio.sleep(0.5 * (attempt + 1))

    async def rest(self, method: str, path: str, **kwargs) -> httpx.Response | None:
        """A REST call that may die with the network: None then (counted)."""
        try:
            return await self.http.request(method, path, **kwargs)
        except httpx.HTTPError:
            self.stats["rest_network_errors"] += 1
            return None

    async def heartbeat(self) -> None:
        frame = await self.request("presence.heartbeat", {})
        if frame is not None and frame["type"] == "ack":
            self.activity.append((time.time(), "heartbeat"))

    # --- the bot's life ----------------------------------------------------------------

    @property
    def away(self) -> bool:
        return time.time() < self.away_until

    async def beat(self, until: float, every: float) -> None:
        """The app's heartbeat timer: independent of what else the app is doing."""
        while time.time() < until and not self.stopped and not self.deactivated:
            if not self.away and self.connected.is_set():
                await self.heartbeat()
            await asyncio.sleep(every)

    async def live(self, until: float, *, send_every: tuple[float, float], heartbeat_every: float) -> None:
        beats = asyncio.create_task(self.beat(until, heartbeat_every)) if self.role == "mitra" else None
        next_send = time.time() + self.rng.uniform(*send_every)
        while time.time() < until and not self.stopped and not self.deactivated:
            now = time.time()
            if self.away:
                await asyncio.sleep(min(0.5, self.away_until - now + 0.01))
                if not self.away and not self.deactivated:
                    await self.reconnect()  # the network is back
                continue
            if not self.connected.is_set():
                await self.reconnect()
                continue
            if now >= next_send:
                live = [s for s in self.sessions if not self.streams.get(s, Stream()).lost_access]
                if live:
                    await self.send_message(self.rng.choice(sorted(live)))
                next_send = time.time() + self.rng.uniform(*send_every)
            await asyncio.sleep(0.2)
        if beats is not None:
            await beats

    def go_away(self, seconds: float) -> None:
        """The phone loses the network for `seconds`: the socket dies, nothing is sent."""
        self.away_until = time.time() + seconds
        self.kill_socket()

    async def stop(self) -> None:
        self.stopped = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.reader, 5)
        for client in self._http.values():
            await client.aclose()
