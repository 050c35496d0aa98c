"""The bench client: worker processes that drive real WebSockets and the REST API.

Each worker is a separate process (the machine has 2 cores and the server needs one) with
its own asyncio loop (uvloop when available), `websockets` for sockets and `httpx` for
REST. The controller (`Pool`, in the bench's main process) sends each worker a command
over a pipe and collects its answer; timed phases start at an agreed CLOCK_MONOTONIC
instant, which is system-wide on Linux, so timestamps taken in different processes
compare directly.

Chat traffic is organised in *lanes*: a lane is one session, its client's socket and its
mitra's socket. A mitra holds up to `max_customers_per_mitra` sessions (3 by default), so
one mitra socket carries several lanes; every lane of a mitra lives in the worker that
owns that mitra. Each lane has two directions (client → mitra, mitra → client). Every
target (project, Node reference, bare relay) gets the same frames: a `message.send` with
a `ref` and a `client_message_id` that names the message (`w<worker>.<n>`); the receiving
socket finds it by that id, so a frame is matched without parsing JSON. The project and
the Node server answer the sender with an `ack` (or an `error`, e.g. `throttled`); the
project also echoes `message.new` to the sender's own socket (its other devices), which
is recognised and skipped. Per message the worker remembers (lane, direction, send time,
acked): at the end of a run what is still there was not delivered — acked (lost after
being stored) or never answered.

Mitra sockets of the project and of the Node server send `presence.heartbeat` every
`heartbeat_interval` seconds (the value the server's presence answer tells the app), at a
random phase per socket, for as long as they are open — like the mitra app.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import random
import time
import traceback

mono = time.monotonic_ns
PAD = "halo, aku mau cerita sedikit soal hari ini ya kak"
PROJECT_ID = os.environ.get("FIREBASE_PROJECT_ID", "demo-halobestie")
# Targets that authenticate, acknowledge and take heartbeats (the relays do none of it).
SPEAKS_PROTOCOL = ("project", "node")
DEFAULT_RETRY_S = 0.1  # closed loop: pause after a refusal without a retry hint
NEW = '{"type":"message.new"'
RELAYED = '{"type":"message.send"'
ACK = '{"type":"ack","ref":"'
ERROR = '{"type":"error"'


def token(uid: str, phone: str | None = None) -> str:
    from halobestie.testing.tokens import mint_id_token

    if phone:
        return mint_id_token(uid, provider="phone", phone=phone, project_id=PROJECT_ID, lifetime=6 * 3600)
    return mint_id_token(uid, provider="anonymous", project_id=PROJECT_ID, lifetime=6 * 3600)


async def ws_connect(url: str, bearer: str | None = None, timeout: float = 60):
    from websockets.asyncio.client import connect

    headers = {"Authorization": f"Bearer {bearer}"} if bearer else None
    return await connect(url, additional_headers=headers, compression=None, max_size=None,
                         ping_interval=None, close_timeout=2, open_timeout=timeout, proxy=None,
                         max_queue=None)


async def wait_auth_ok(ws, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
        if isinstance(raw, str) and raw.startswith('{"type":"auth.ok"'):
            return
        if isinstance(raw, str) and raw.startswith('{"type":"error"'):
            raise RuntimeError(f"auth failed: {raw[:200]}")


async def sleep_until(t_ns: int) -> None:
    delay = (t_ns - mono()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)


async def gather_limited(coros, limit: int):
    sem = asyncio.Semaphore(limit)

    async def one(c):
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros), return_exceptions=True)


def _err(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def retry_hint(data: dict) -> float:
    """Seconds to wait after a refusal, from the error's retry hint when it has one."""
    for key, scale in (("retry_after_ms", 1e-3), ("retry_after", 1.0), ("retry_after_s", 1.0)):
        value = data.get(key)
        if isinstance(value, (int, float)) and value >= 0:
            return min(5.0, value * scale)
    return DEFAULT_RETRY_S


class Sock:
    """One open socket: its reader task and, for a mitra of the project or the Node
    server, its heartbeat task. `home`: a pair mitra's socket, open for the whole run."""

    __slots__ = ("ws", "role", "kind", "reader", "beat", "home")

    def __init__(self, ws, role: str, kind: str, home: bool = False):
        self.ws = ws
        self.role = role
        self.kind = kind
        self.home = home
        self.reader: asyncio.Task | None = None
        self.beat: asyncio.Task | None = None


class Lane:
    __slots__ = ("sid", "client", "mitra")

    def __init__(self, sid: str, client: Sock, mitra: Sock):
        self.sid = sid
        self.client = client
        self.mitra = mitra

    def sock(self, role: str) -> Sock:
        return self.client if role == "client" else self.mitra


class Run:
    """One timed chat phase. Window [w0, w1) is what is measured; [t0, w0) warms up."""

    def __init__(self, mode: str, t0: int, w0: int, w1: int):
        self.mode = mode
        self.closed = mode == "closed"
        self.t0, self.w0, self.w1, self.end = t0, w0, w1, w1
        self.sending = True
        self.lat = array.array("q")
        self.lag = array.array("q")
        self.sent_win = 0
        self.deliv_win = 0
        self.sent_total = 0
        self.delivered_total = 0
        self.acks = 0
        self.refused: dict[str, int] = {}
        self.refused_by_side = {"client": 0, "mitra": 0}
        self.refused_win = 0
        self.send_errors = 0
        self.err_samples: list[str] = []


class Worker:
    def __init__(self, wid: int, conn):
        self.wid = wid
        self.conn = conn
        self.home: dict[str, Sock] = {}      # pair mitra uid -> its socket on the project
        self.chat: list[Sock] = []           # sockets opened for the current chat phase
        self.lanes: list[Lane] = []
        self.dirs: list[tuple[Lane, str]] = []
        self.pending: dict[int, list] = {}   # n -> [lane, sender role, send ns, acked]
        self.idle: list = []
        self.blast: list = []
        self.blast_readers: list[asyncio.Task] = []
        self.offers: dict[str, list[int]] = {}
        self.offer_event = asyncio.Event()
        self.run: Run | None = None
        self.n = 0
        self.cmid = f'"client_message_id":"w{wid}.'
        self.beats = {"sent": 0, "acked": 0, "errors": 0}
        self.stray_errors = 0

    async def main(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            cmd = await loop.run_in_executor(None, self.conn.recv)
            op = cmd.pop("op")
            if op == "exit":
                await self._close_all()
                self.conn.send({"ok": True, "result": None})
                return
            try:
                result = await getattr(self, f"op_{op}")(**cmd)
                self.conn.send({"ok": True, "result": result})
            except Exception:  # noqa: BLE001 - reported to the controller
                self.conn.send({"ok": False, "error": traceback.format_exc()})

    async def _close_all(self) -> None:
        await self.op_chat_close()
        await self.op_home_close()
        await self.op_idle_close()
        await self.op_blast_close()

    # --- REST setup ------------------------------------------------------------------------

    def _http(self, base: str, limit: int = 32):
        import httpx

        return httpx.AsyncClient(base_url=base, timeout=60, trust_env=False,
                                 limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit))

    def _attach(self, s: Sock, beat_s: float | None) -> None:
        s.reader = asyncio.create_task(self._reader(s))
        if beat_s and s.role == "mitra" and s.kind in SPEAKS_PROTOCOL:
            s.beat = asyncio.create_task(self._heartbeat(s, beat_s))

    async def _detach(self, s: Sock) -> None:
        for t in (s.reader, s.beat):
            if t:
                t.cancel()
        with contextlib.suppress(Exception):
            await s.ws.close()

    async def op_pair(self, http: str, ws: str, groups: list[dict], lanes: int, heartbeats: bool) -> dict:
        """Per mitra group: the mitra signs in, goes online (REST) and opens its socket
        (kept for the whole run, heartbeating); then each of its clients signs in, asks for a
        free-trial bestie (a blast to every available mitra) and this mitra accepts. The
        real API, `lanes` groups at a time."""
        t_start = time.monotonic()
        interval: list[float] = []
        async with self._http(http, lanes * 2) as api:

            async def one(group):
                mt = token(group["muid"], group["mphone"])
                mh = {"Authorization": f"Bearer {mt}"}
                r = await api.post("/api/mitra/auth/session", json={}, headers=mh)
                r.raise_for_status()
                r = await api.put("/api/mitra/presence", json={"status": "online"}, headers=mh)
                r.raise_for_status()
                beat = float(r.json().get("heartbeat_interval") or 30)
                interval.append(beat)
                if group["muid"] not in self.home:
                    sock = Sock(await ws_connect(f"{ws}/ws/mitra/", mt), "mitra", "project", home=True)
                    await wait_auth_ok(sock.ws)
                    self.home[group["muid"]] = sock
                    self._attach(sock, beat if heartbeats else None)
                out = []
                for cuid in group["clients"]:
                    ch = {"Authorization": f"Bearer {token(cuid)}"}
                    r = await api.post("/api/client/auth/session", json={}, headers=ch)
                    r.raise_for_status()
                    r = await api.post("/api/client/pairing-requests", json={"free_trial": True}, headers=ch)
                    if r.status_code != 201:
                        raise RuntimeError(f"pairing request: {r.status_code} {r.text[:200]}")
                    rid = r.json()["id"]
                    r = await api.post(f"/api/mitra/pairing-requests/{rid}/accept", headers=mh)
                    if r.status_code != 201:
                        raise RuntimeError(f"accept: {r.status_code} {r.text[:200]}")
                    out.append({"cuid": cuid, "sid": r.json()["id"]})
                return {"muid": group["muid"], "mphone": group["mphone"], "lanes": out}

            results = await gather_limited([one(g) for g in groups], lanes)
        ok = [r for r in results if isinstance(r, dict)]
        errors = [_err(r) for r in results if isinstance(r, BaseException)]
        return {"groups": ok, "errors": errors[:5], "failed": len(errors), "seconds": time.monotonic() - t_start,
                "heartbeat_interval": max(interval) if interval else None}

    async def op_home_close(self) -> dict:
        socks, self.home = list(self.home.values()), {}
        await asyncio.gather(*(self._detach(s) for s in socks), return_exceptions=True)
        return {"closed": len(socks)}

    async def op_mitras_online(self, http: str, items: list[dict], conc: int) -> dict:
        t_start = time.monotonic()
        async with self._http(http, conc) as api:

            async def one(item):
                h = {"Authorization": f"Bearer {token(item['muid'], item['mphone'])}"}
                r = await api.put("/api/mitra/presence", json={"status": "online"}, headers=h)
                r.raise_for_status()

            results = await gather_limited([one(i) for i in items], conc)
        errors = [_err(r) for r in results if isinstance(r, BaseException)]
        return {"ok": len(items) - len(errors), "errors": errors[:5], "seconds": time.monotonic() - t_start}

    async def op_stats(self) -> dict:
        return {"beats": dict(self.beats), "home": len(self.home),
                "home_open": sum(1 for s in self.home.values() if not s.reader.done()),
                "stray_errors": self.stray_errors}

    # --- chat traffic ------------------------------------------------------------------------

    async def op_chat_open(self, kind: str, groups: list[dict], conc: int, heartbeat: float | None) -> dict:
        """groups: [{muid, mphone, m_url (None: the mitra's home socket), lanes: [{sid, cuid,
        c_url}]}]. Opens every client socket and, unless it is the home one, the mitra's."""
        t_start = time.monotonic()
        auth = kind in SPEAKS_PROTOCOL

        async def sock(url, role, uid, phone=None):
            ws = await ws_connect(url, token(uid, phone) if auth else None)
            if auth:
                await wait_auth_ok(ws)
            s = Sock(ws, role, kind)
            self.chat.append(s)
            self._attach(s, heartbeat)
            return s

        async def one(group):
            if group.get("m_url"):
                m = await sock(group["m_url"], "mitra", group["muid"], group["mphone"])
            else:
                m = self.home[group["muid"]]
            for ln in group["lanes"]:
                c = await sock(ln["c_url"], "client", ln["cuid"])
                self.lanes.append(Lane(ln["sid"], c, m))

        results = await gather_limited([one(g) for g in groups], conc)
        errors = [_err(r) for r in results if isinstance(r, BaseException)]
        self.dirs = [(ln, role) for ln in self.lanes for role in ("client", "mitra")]
        return {"lanes": len(self.lanes), "sockets": len(self.chat), "failed": len(errors), "errors": errors[:5],
                "seconds": time.monotonic() - t_start}

    async def op_chat_close(self) -> dict:
        socks, self.chat = self.chat, []
        self.lanes, self.dirs = [], []
        self.pending.clear()
        await asyncio.gather(*(self._detach(s) for s in socks), return_exceptions=True)
        return {"closed": len(socks)}

    async def _send(self, lane: Lane, role: str, run: Run) -> None:
        now = mono()
        self.n += 1
        n = self.n
        self.pending[n] = [lane, role, now, False]
        run.sent_total += 1
        if run.w0 <= now < run.w1:
            run.sent_win += 1
        frame = (f'{{"type":"message.send","ref":"{n}","data":{{"session_id":"{lane.sid}",'
                 f'"client_message_id":"w{self.wid}.{n}","body":"b{now} {PAD}"}}}}')
        try:
            await lane.sock(role).ws.send(frame)
        except Exception:  # noqa: BLE001 - counted; the socket is gone
            run.send_errors += 1
            self.pending.pop(n, None)

    def _resend_later(self, lane: Lane, role: str, delay: float) -> None:
        def go():
            run = self.run
            if run is not None and run.closed and run.sending and mono() < run.end:
                asyncio.ensure_future(self._send(lane, role, run))

        asyncio.get_running_loop().call_later(delay, go)

    async def _heartbeat(self, s: Sock, interval: float) -> None:
        await asyncio.sleep(random.uniform(0, interval))
        k = 0
        while True:
            k += 1
            try:
                await s.ws.send(f'{{"type":"presence.heartbeat","ref":"h{k}","data":{{}}}}')
                self.beats["sent"] += 1
            except Exception:  # noqa: BLE001 - socket gone
                return
            await asyncio.sleep(interval)

    async def _reader(self, s: Sock) -> None:
        cmid = self.cmid
        skip = len(cmid)
        pending = self.pending
        with contextlib.suppress(Exception):
            async for raw in s.ws:
                if not isinstance(raw, str):
                    continue
                if raw.startswith(NEW) or raw.startswith(RELAYED):
                    i = raw.find(cmid)
                    if i < 0:
                        continue
                    i += skip
                    n = int(raw[i:raw.find('"', i)])
                    m = pending.get(n)
                    if m is None:
                        continue  # a late one from an earlier run
                    lane, role = m[0], m[1]
                    if (lane.client if role == "client" else lane.mitra) is s:
                        continue  # the project's echo to the sender's own socket
                    del pending[n]
                    run = self.run
                    if run is None:
                        continue
                    now = mono()
                    run.delivered_total += 1
                    if run.w0 <= now < run.w1:
                        run.deliv_win += 1
                    if run.w0 <= m[2] < run.w1:
                        run.lat.append(now - m[2])
                    if run.closed and run.sending and now < run.end:
                        await self._send(lane, role, run)
                elif raw.startswith(ACK):
                    ref = raw[len(ACK):raw.find('"', len(ACK))]
                    if ref[:1] == "h":
                        self.beats["acked"] += 1
                        continue
                    m = pending.get(int(ref))
                    if m is not None:
                        m[3] = True
                        if self.run is not None:
                            self.run.acks += 1
                elif raw.startswith(ERROR):
                    self._on_error(raw)

    def _on_error(self, raw: str) -> None:
        frame = json.loads(raw)
        ref = str(frame.get("ref", ""))
        data = frame.get("data") or {}
        code = str(data.get("code", "?"))
        if ref[:1] == "h":
            self.beats["errors"] += 1
            return
        m = self.pending.pop(int(ref), None) if ref.isdigit() else None
        run = self.run
        if m is None or run is None:
            self.stray_errors += 1
            return
        run.refused[code] = run.refused.get(code, 0) + 1
        run.refused_by_side[m[1]] += 1
        if run.w0 <= m[2] < run.w1:
            run.refused_win += 1
        if len(run.err_samples) < 5:
            run.err_samples.append(raw[:300])
        if run.closed and run.sending:
            self._resend_later(m[0], m[1], retry_hint(data))

    async def _open_loop(self, run: Run, rate: float) -> None:
        dirs = self.dirs
        k = len(dirs)
        interval = 1e9 / rate
        nxt = float(run.t0)
        i = 0
        while True:
            now = mono()
            if now >= run.end:
                return
            if now < nxt:
                await asyncio.sleep((nxt - now) / 1e9)
                continue
            while nxt <= now and nxt < run.end:
                lane, role = dirs[i % k]
                i += 1
                t = mono()
                if run.w0 <= t < run.w1:
                    run.lag.append(int(t - nxt))
                await self._send(lane, role, run)
                nxt += interval
            await asyncio.sleep(0)

    async def op_chat_run(self, mode: str, rate: float, window: int, t0: int, w0: int, w1: int,
                          drain: float) -> dict:
        self.pending.clear()
        run = Run(mode, t0, w0, w1)
        self.run = run
        await sleep_until(t0)
        if mode == "open":
            if rate > 0 and self.dirs:
                await self._open_loop(run, rate)
        else:
            for lane, role in self.dirs:
                for _ in range(window):
                    await self._send(lane, role, run)
            await sleep_until(run.end)
        run.sending = False
        # Drain: until everything sent was delivered or refused, nothing moved for 5 s, or `drain` s.
        t_drain = mono()
        deadline = t_drain + int(drain * 1e9)
        last, last_change = len(self.pending), mono()
        while self.pending and mono() < deadline and mono() - last_change < 5e9:
            await asyncio.sleep(0.02)
            if len(self.pending) != last:
                last, last_change = len(self.pending), mono()
        self.run = None
        left = list(self.pending.values())
        self.pending.clear()
        lag = sorted(run.lag)
        return {
            "lat": run.lat.tobytes(), "sent_win": run.sent_win, "deliv_win": run.deliv_win,
            "sent_total": run.sent_total, "delivered_total": run.delivered_total,
            "undelivered": len(left), "lost_acked": sum(1 for m in left if m[3]),
            "unanswered": sum(1 for m in left if not m[3]),
            "refused": run.refused, "refused_by_side": run.refused_by_side, "refused_win": run.refused_win,
            "send_errors": run.send_errors, "err_samples": run.err_samples, "acks": run.acks,
            "lag_p99_ms": (lag[int(len(lag) * 0.99)] / 1e6) if lag else 0.0,
            "lag_max_ms": (lag[-1] / 1e6) if lag else 0.0,
            "drain_s": (mono() - t_drain) / 1e9,
        }

    # --- idle sockets ------------------------------------------------------------------------

    async def op_idle_open(self, url: str, uids: list[str], conc: int, auth: bool = True) -> dict:
        t_start = time.monotonic()

        async def one(uid):
            ws = await ws_connect(url.replace("{}", uid), token(uid) if auth else None)
            if auth:
                await wait_auth_ok(ws)
            return ws

        results = await gather_limited([one(u) for u in uids], conc)
        errors = [_err(r) for r in results if isinstance(r, BaseException)]
        self.idle.extend(r for r in results if not isinstance(r, BaseException))
        return {"open": len(self.idle), "failed": len(errors), "errors": errors[:5],
                "seconds": time.monotonic() - t_start}

    async def op_idle_check(self) -> dict:
        """How many idle sockets are still open (none should have been dropped)."""
        from websockets.protocol import State

        return {"open": sum(1 for ws in self.idle if ws.protocol.state is State.OPEN), "held": len(self.idle)}

    async def op_idle_close(self) -> dict:
        socks, self.idle = self.idle, []
        await gather_limited([ws.close() for ws in socks], 200)
        return {"closed": len(socks)}

    # --- connection rate ---------------------------------------------------------------------

    async def op_connrate(self, http: str, ws_url: str, uids: list[str], conc: int, t0: int) -> dict:
        """Per new user: sign-in POST, socket open with the token, wait for auth.ok."""
        held = []
        async with self._http(http, conc) as api:

            async def one(uid):
                t = mono()
                tok = token(uid)
                r = await api.post("/api/client/auth/session", json={},
                                   headers={"Authorization": f"Bearer {tok}"})
                if r.status_code not in (200, 201):
                    raise RuntimeError(f"sign-in {r.status_code}: {r.text[:100]}")
                ws = await ws_connect(ws_url, tok)
                await wait_auth_ok(ws)
                held.append(ws)
                return mono() - t

            await sleep_until(t0)
            results = await gather_limited([one(u) for u in uids], conc)
            t_end = mono()
        durations = [r for r in results if isinstance(r, int)]
        errors = [_err(r) for r in results if isinstance(r, BaseException)]
        await gather_limited([ws.close() for ws in held], 200)
        return {"durations": durations, "failed": len(errors), "errors": errors[:5], "t_end": t_end}

    # --- pairing blast -----------------------------------------------------------------------

    async def op_blast_open(self, url: str, items: list[dict], conc: int) -> dict:
        t_start = time.monotonic()

        async def one(item):
            ws = await ws_connect(url, token(item["muid"], item["mphone"]))
            await wait_auth_ok(ws)
            return ws

        results = await gather_limited([one(i) for i in items], conc)
        errors = [_err(r) for r in results if isinstance(r, BaseException)]
        for ws in results:
            if not isinstance(ws, BaseException):
                self.blast.append(ws)
                self.blast_readers.append(asyncio.create_task(self._blast_reader(ws)))
        return {"open": len(self.blast), "failed": len(errors), "errors": errors[:5],
                "seconds": time.monotonic() - t_start}

    async def _blast_reader(self, ws) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                if isinstance(raw, str) and raw.startswith('{"type":"pairing.offer"'):
                    now = mono()
                    rid = json.loads(raw)["data"]["id"]
                    self.offers.setdefault(rid, []).append(now)
                    self.offer_event.set()

    async def op_blast_collect(self, request_id: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        expect = len(self.blast)
        while len(self.offers.get(request_id, [])) < expect and time.monotonic() < deadline:
            self.offer_event.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.offer_event.wait(), max(0.01, deadline - time.monotonic()))
        return {"arrivals": self.offers.pop(request_id, []), "expected": expect}

    async def op_blast_close(self) -> dict:
        for t in self.blast_readers:
            t.cancel()
        socks, self.blast, self.blast_readers = self.blast, [], []
        await gather_limited([ws.close() for ws in socks], 200)
        return {"closed": len(socks)}


def worker_main(wid: int, conn) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run

    async def start():
        await Worker(wid, conn).main()

    runner(start())


class Pool:
    """The controller side: N worker processes, one command each at a time."""

    def __init__(self, n: int):
        ctx = mp.get_context("spawn")
        self.procs = []
        self.conns = []
        for i in range(n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(i, child), daemon=True, name=f"bench-client-{i}")
            proc.start()
            self.procs.append(proc)
            self.conns.append(parent)

    def __len__(self) -> int:
        return len(self.procs)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def send(self, op: str, args: list[dict]) -> None:
        for conn, a in zip(self.conns, args, strict=True):
            conn.send({"op": op, **a})

    def recv(self, timeout: float = 900) -> list:
        out = []
        for i, conn in enumerate(self.conns):
            if not conn.poll(timeout):
                raise TimeoutError(f"bench client {i} did not answer in {timeout} s")
            msg = conn.recv()
            if not msg["ok"]:
                raise RuntimeError(f"bench client {i} failed:\n{msg['error']}")
            out.append(msg["result"])
        return out

    def call(self, op: str, args: list[dict] | dict, timeout: float = 900) -> list:
        if isinstance(args, dict):
            args = [args] * len(self.procs)
        self.send(op, args)
        return self.recv(timeout)

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(Exception):
                conn.send({"op": "exit"})
        for conn in self.conns:
            with contextlib.suppress(Exception):
                if conn.poll(10):
                    conn.recv()
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)


def split(items: list, n: int) -> list[list]:
    """Round-robin split into n lists."""
    return [items[i::n] for i in range(n)]
