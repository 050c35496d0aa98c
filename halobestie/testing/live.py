"""Real servers on loopback for end-to-end tests, and a small WebSocket test client.

`LiveServer` starts the public (or internal) ASGI app with uvicorn in a subprocess that
uses the test database and the same Redis prefixes as the test process, so events sent by
services called in the test reach sockets held by the server, and the other way round.
Tests using it must be `@pytest.mark.django_db(transaction=True)` so their rows are
committed where the server can see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(**extra) -> dict:
    """Environment for a child process that must share this test run's DB and Redis."""
    db = connection.settings_dict
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "halobestie.settings.test",
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "TEST_DATABASE_NAME": db["NAME"],
        "REDIS_URL": settings.REDIS_URL,
        "CHANNEL_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
        "CACHE_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", "hb"),
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "FIREBASE_AUTH_EMULATOR_HOST": settings.FIREBASE_AUTH_EMULATOR_HOST,
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


class LiveServer:
    def __init__(self, app: str = "halobestie.asgi:application", *, workers: int = 1, env: dict | None = None,
                 entrypoint: str | None = None):
        self.app = app
        self.port = free_port()
        self.workers = workers
        self.extra_env = env or {}
        # "web" / "internal": start the production launcher (`python -m halobestie.serve`)
        # with its own flags instead of a bare uvicorn command line.
        self.entrypoint = entrypoint
        self.proc: subprocess.Popen | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        cmd = [sys.executable, "-m", "uvicorn", self.app, "--host", "127.0.0.1", "--port", str(self.port),
               "--lifespan", "off", "--log-level", "warning", "--ws-per-message-deflate", "false",
               "--ws-max-size", str(1 << 20)]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        extra = dict(self.extra_env)
        if self.entrypoint:
            cmd = [sys.executable, "-m", "halobestie.serve", self.entrypoint]
            port_var = "PORT" if self.entrypoint == "web" else "INTERNAL_PORT"
            extra = {"HOST": "127.0.0.1", port_var: self.port, "UVICORN_LOG_LEVEL": "warning", **extra}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=server_env(**extra))
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return self
            time.sleep(0.1)
        raise RuntimeError("server did not start in 30 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class WsClient:
    """A real WebSocket client (the `websockets` library) that keeps every frame it got."""

    def __init__(self, url: str, token: str | None = None, *, header_auth: bool = True):
        self.url = url
        self.token = token
        self.header_auth = header_auth
        self.frames: list[dict] = []
        self.ws = None
        self._reader: asyncio.Task | None = None
        self._new = asyncio.Event()
        self.close_code: int | None = None

    async def connect(self, wait_auth: bool = True) -> WsClient:
        import websockets

        headers = {"Authorization": f"Bearer {self.token}"} if (self.token and self.header_auth) else None
        self.ws = await websockets.connect(self.url, additional_headers=headers, max_size=None)
        self._reader = asyncio.create_task(self._read())
        if self.token and not self.header_auth:
            await self.send({"type": "auth", "data": {"token": self.token}})
        if self.token and wait_auth:
            await self.wait_for(lambda f: f["type"] in ("auth.ok",), timeout=10)
        return self

    async def _read(self):
        try:
            async for raw in self.ws:
                self.frames.append(json.loads(raw))
                self._new.set()
        except Exception:  # noqa: BLE001 - connection closed
            pass
        finally:
            self.close_code = self.ws.close_code
            self._new.set()

    async def send(self, frame: dict | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def request(self, frame_type: str, data: dict | None = None, *, ref: str | None = None,
                      timeout: float = 10) -> dict:
        ref = ref or f"r{time.monotonic_ns()}"
        await self.send({"type": frame_type, "ref": ref, "data": data or {}})
        return await self.wait_for(lambda f: f.get("ref") == ref and f["type"] in ("ack", "error", "pong"),
                                   timeout=timeout)

    async def wait_for(self, predicate, timeout: float = 10, start: int = 0) -> dict:
        deadline = time.monotonic() + timeout
        seen = start
        while True:
            for frame in self.frames[seen:]:
                if predicate(frame):
                    return frame
            seen = len(self.frames)
            if self.close_code is not None and self._reader and self._reader.done():
                raise AssertionError(f"socket closed ({self.close_code}) while waiting; frames={self.frames[-5:]}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting; last frames={self.frames[-5:]}")
            self._new.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new.wait(), remaining)

    async def wait_event(self, event_type: str, timeout: float = 10, **match) -> dict:
        def pred(f):
            if f["type"] != event_type:
                return False
            return all(f.get("data", {}).get(k) == v for k, v in match.items())
        return await self.wait_for(pred, timeout)

    def events(self, event_type: str) -> list[dict]:
        return [f for f in self.frames if f["type"] == event_type]

    async def wait_closed(self, timeout: float = 10) -> int:
        if self._reader:
            await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.close_code

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)


async def in_thread(fn, *args, **kwargs):
    """Run blocking (database) code from an async test on a worker thread, closing that
    thread's database connection afterwards."""

    def run():
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    return await asyncio.to_thread(run)


class CeleryWorker:
    """A real Celery worker subprocess (optionally running beat, `-B`) on `queue`, sharing the
    test database and Redis. `kill()` is SIGKILL: the worker dies with its reserved tasks."""

    def __init__(self, queue: str, *, name: str, beat: bool = False, workdir: Path | None = None,
                 env: dict | None = None):
        self.queue = queue
        self.name = name
        self.beat = beat
        self.workdir = workdir or Path("/tmp")
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = self.workdir / f"{name}.log"

    @property
    def hostname(self) -> str:
        return f"{self.name}@{socket.gethostname()}"

    def start(self, app, timeout: float = 60) -> CeleryWorker:
        cmd = [sys.executable, "-m", "celery", "-A", "halobestie", "worker", "-l", "warning", "-P", "solo",
               "-Q", self.queue, "-n", self.hostname, "--without-gossip", "--without-mingle"]
        if self.beat:
            cmd += ["-B", "-s", str(self.workdir / f"{self.name}-beat-schedule")]
        env = server_env(CELERY_TASK_ALWAYS_EAGER="False", CELERY_QUEUE=self.queue, **self.extra_env)
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited: {self.log_path.read_text()[-2000:]}")
            if app.control.ping(destination=[self.hostname], timeout=0.5):
                return self
        raise RuntimeError(f"worker {self.name} did not answer a ping in {timeout} s")

    def scheduled(self, app) -> list[dict]:
        """The ETA tasks this worker holds in memory (reserved, not yet due)."""
        replies = app.control.inspect(destination=[self.hostname], timeout=2).scheduled() or {}
        return replies.get(self.hostname, [])

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if getattr(self, "_log", None):
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""
