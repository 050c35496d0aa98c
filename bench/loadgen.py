"""The bench client: worker processes that drive real WebSockets and the REST API.

Each worker is a separate process (the machine has 2 cores and the server needs one) with
its own asyncio loop (uvloop when available), `websockets` for sockets and `httpx` for
REST. The controller (`Pool`, in the bench's main process) sends each worker a command
over a pipe and collects its answer; timed phases start at an agreed CLOCK_MONOTONIC
instant, which is system-wide on Linux, so timestamps taken in different processes
compare directly.

Chat traffic: both sockets of a pair live in the same worker. A message carries its send
time in its body (`"body":"b<ns> ..."`); the peer takes the latency on receipt. On the
project a message is a `message.send` frame with a `ref` (acked, stored, and delivered to
the peer as `message.new`); on the baseline it is the same text, relayed verbatim.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import time
import traceback

mono = time.monotonic_ns
PAD = "halo, aku mau cerita sedikit soal hari ini ya kak"
PROJECT_ID = os.environ.get("FIREBASE_PROJECT_ID", "demo-halobestie")


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


class Sock:
    __slots__ = ("ws", "role", "sid", "peer", "inflight", "echo", "reader")

    def __init__(self, ws, role: str, sid: str, echo: str):
        self.ws = ws
        self.role = role
        self.sid = sid
        self.peer: Sock | None = None
        self.inflight = 0
        self.echo = echo
        self.reader: asyncio.Task | None = None


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
        self.errors = 0
        self.send_errors = 0
        self.err_samples: list[str] = []


class Worker:
    def __init__(self, wid: int, conn):
        self.wid = wid
        self.conn = conn
        self.chat: list[Sock] = []
        self.idle: list = []
        self.blast: list = []
        self.blast_readers: list[asyncio.Task] = []
        self.offers: dict[str, list[int]] = {}
        self.offer_event = asyncio.Event()
        self.run: Run | None = None
        self.n = 0
        self.inflight = 0
        self.acks = 0

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
        await self.op_idle_close()
        await self.op_blast_close()

    # --- REST setup ------------------------------------------------------------------------

    def _http(self, base: str, limit: int = 32):
        import httpx

        return httpx.AsyncClient(base_url=base, timeout=60, trust_env=False,
                                 limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit))

    async def op_pair(self, http: str, items: list[dict], lanes: int) -> dict:
        """Sign in a client and a mitra, put the mitra online, the client asks for a
        free-trial bestie, that mitra accepts: the real API, `lanes` pairs at a time."""
        t_start = time.monotonic()
        async with self._http(http, lanes * 2) as api:

            async def one(item):
                ct = token(item["cuid"])
                mt = token(item["muid"], item["mphone"])
                ch = {"Authorization": f"Bearer {ct}"}
                mh = {"Authorization": f"Bearer {mt}"}
                r = await api.post("/api/client/auth/session", json={}, headers=ch)
                r.raise_for_status()
                r = await api.post("/api/mitra/auth/session", json={}, headers=mh)
                r.raise_for_status()
                r = await api.put("/api/mitra/presence", json={"status": "online"}, headers=mh)
                r.raise_for_status()
                r = await api.post("/api/client/pairing-requests", json={"free_trial": True}, headers=ch)
                if r.status_code != 201:
                    raise RuntimeError(f"pairing request: {r.status_code} {r.text[:200]}")
                rid = r.json()["id"]
                r = await api.post(f"/api/mitra/pairing-requests/{rid}/accept", headers=mh)
                if r.status_code != 201:
                    raise RuntimeError(f"accept: {r.status_code} {r.text[:200]}")
                return {**item, "sid": r.json()["id"]}

            results = await gather_limited([one(i) for i in items], lanes)
        ok = [r for r in results if isinstance(r, dict)]
        errors = [_err(r) for r in results if isinstance(r, BaseException)]
        return {"pairs": ok, "errors": errors[:5], "failed": len(errors), "seconds": time.monotonic() - t_start}

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

    # --- chat traffic ------------------------------------------------------------------------

    async def op_chat_open(self, pairs: list[dict], conc: int) -> dict:
        """pairs: {kind, a_url, b_url, a_token?, b_token?, sid}; a is the client side."""
        t_start = time.monotonic()

        async def one(p):
            project = p["kind"] == "project"
            wa = await ws_connect(p["a_url"], p.get("a_token"))
            wb = await ws_connect(p["b_url"], p.get("b_token"))
            if project:
                await wait_auth_ok(wa)
                await wait_auth_ok(wb)
            # A project socket also gets its own message back (message.new goes to both
            # participants' every device): skip those by the sender field.
            a = Sock(wa, "client", p["sid"], '"sender":"client"' if project else "\x00")
            b = Sock(wb, "mitra", p["sid"], '"sender":"mitra"' if project else "\x00")
            a.peer, b.peer = b, a
            return a, b

        results = await gather_limited([one(p) for p in pairs], conc)
        errors = [_err(r) for r in results if isinstance(r, BaseException)]
        for r in results:
            if isinstance(r, tuple):
                for s in r:
                    self.chat.append(s)
                    s.reader = asyncio.create_task(self._chat_reader(s))
        return {"sockets": len(self.chat), "failed": len(errors), "errors": errors[:5],
                "seconds": time.monotonic() - t_start}

    async def op_chat_close(self) -> dict:
        socks, self.chat = self.chat, []
        for s in socks:
            if s.reader:
                s.reader.cancel()
        await asyncio.gather(*(s.ws.close() for s in socks), return_exceptions=True)
        return {"closed": len(socks)}

    def _frame(self, s: Sock, ts: int) -> str:
        self.n += 1
        n = self.n
        return (f'{{"type":"message.send","ref":"{n}","data":{{"session_id":"{s.sid}",'
                f'"client_message_id":"w{self.wid}.{n}","body":"b{ts} {PAD}"}}}}')

    async def _send(self, s: Sock, run: Run) -> None:
        now = mono()
        s.inflight += 1
        self.inflight += 1
        run.sent_total += 1
        if run.w0 <= now < run.w1:
            run.sent_win += 1
        try:
            await s.ws.send(self._frame(s, now))
        except Exception:  # noqa: BLE001 - counted; the socket is gone
            run.send_errors += 1

    async def _chat_reader(self, s: Sock) -> None:
        echo = s.echo
        with contextlib.suppress(Exception):
            async for raw in s.ws:
                if not isinstance(raw, str):
                    continue
                if raw.startswith('{"type":"message.new"') or raw.startswith('{"type":"message.send"'):
                    if echo in raw:
                        continue
                    now = mono()
                    i = raw.find('"body":"b') + 9
                    ts = int(raw[i:raw.find(" ", i)])
                    peer = s.peer
                    peer.inflight -= 1
                    self.inflight -= 1
                    run = self.run
                    if run is None or ts < run.t0:
                        continue
                    run.delivered_total += 1
                    if run.w0 <= now < run.w1:
                        run.deliv_win += 1
                    if run.w0 <= ts < run.w1:
                        run.lat.append(now - ts)
                    if run.closed and run.sending and now < run.end:
                        await self._send(peer, run)
                elif raw.startswith('{"type":"ack"'):
                    self.acks += 1
                elif raw.startswith('{"type":"error"'):
                    run = self.run
                    if run is not None:
                        run.errors += 1
                        if len(run.err_samples) < 5:
                            run.err_samples.append(raw[:300])

    async def _open_loop(self, run: Run, rate: float) -> None:
        socks = self.chat
        k = len(socks)
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
                s = socks[i % k]
                i += 1
                t = mono()
                if run.w0 <= t < run.w1:
                    run.lag.append(int(t - nxt))
                await self._send(s, run)
                nxt += interval

    async def op_chat_run(self, mode: str, rate: float, window: int, t0: int, w0: int, w1: int,
                          drain: float) -> dict:
        for s in self.chat:
            s.inflight = 0
        self.inflight = 0
        run = Run(mode, t0, w0, w1)
        acks0 = self.acks
        self.run = run
        await sleep_until(t0)
        if mode == "open":
            if rate > 0 and self.chat:
                await self._open_loop(run, rate)
        else:
            for s in self.chat:
                for _ in range(window):
                    await self._send(s, run)
            await sleep_until(run.end)
        run.sending = False
        # Drain: until everything sent was delivered, no delivery for 5 s, or `drain` s.
        t_drain = mono()
        deadline = t_drain + int(drain * 1e9)
        last, last_change = self.inflight, mono()
        while self.inflight > 0 and mono() < deadline and mono() - last_change < 5e9:
            await asyncio.sleep(0.02)
            if self.inflight != last:
                last, last_change = self.inflight, mono()
        self.run = None
        lag = sorted(run.lag)
        return {
            "lat": run.lat.tobytes(), "sent_win": run.sent_win, "deliv_win": run.deliv_win,
            "sent_total": run.sent_total, "delivered_total": run.delivered_total,
            "undelivered": max(0, self.inflight), "errors": run.errors, "send_errors": run.send_errors,
            "err_samples": run.err_samples, "acks": self.acks - acks0,
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
