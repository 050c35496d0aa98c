"""Real faults for tests, without touching the machine's shared services.

- `TcpProxy`: an asyncio TCP proxy (in a thread of its own) between a process and
  PostgreSQL or Redis. `cut()` resets every open connection and refuses new ones (the
  service "goes away"); `restore()` lets connections through again.
- `PrivateRedis`: a redis-server of our own on a free port (no persistence), which a test
  may stop and start again: the shared Redis other people's tests use is never restarted.
- `CapturingServer`: `LiveServer` whose stdout/stderr go to a file the test can read.
- `wait_until`: poll a condition with a deadline (no bare sleeps).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from halobestie.testing.live import ROOT, LiveServer, free_port, server_env


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class TcpProxy:
    """127.0.0.1:<port> → target, with a switch."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="tcp-proxy", daemon=True)
        self.server: asyncio.base_events.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()
        self.connections = 0  # accepted so far (a test can see traffic went through us)

    def _run(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> TcpProxy:
        self.thread.start()
        self._run(self._listen())
        return self

    async def _listen(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.open.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter):
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self.open.discard(writer)
            self.open.discard(up_writer)

    async def _cut(self):
        server, self.server = self.server, None
        if server is not None:
            server.close()  # no new connections
        for writer in list(self.open):
            transport = writer.transport
            with contextlib.suppress(Exception):
                # An abort (RST), not a polite FIN: what a dead host or a failover looks like.
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                transport.abort()
        self.open.clear()
        if server is not None:
            # Since Python 3.12 this waits for the handlers too: only after the aborts
            # (pooled connections never end on their own).
            await server.wait_closed()

    def cut(self) -> None:
        """Reset every open connection; new ones are refused until restore()."""
        self._run(self._cut())

    def restore(self) -> None:
        self._run(self._listen())

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(self._cut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class PrivateRedis:
    """A redis-server of this test's own, restartable on the same port."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hb-redis-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--logfile",
                str(self.dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.ping, 10, "the private redis-server to answer")
        return self

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # a crash, not a shutdown: nothing flushed, nothing said goodbye
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class CapturingServer(LiveServer):
    """A LiveServer whose output (uvicorn's and Django's logs) is kept in a file."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log_file = tempfile.NamedTemporaryFile(prefix="hb-server-", suffix=".log", delete=False)  # noqa: SIM115

    def start(self) -> CapturingServer:
        # LiveServer.start, with the child's output kept (the command line is the same).
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
            "--ws-per-message-deflate",
            "false",
            "--ws-max-size",
            str(1 << 20),
        ]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=server_env(**self.extra_env), stdout=self.log_file, stderr=subprocess.STDOUT
        )
        wait_until(lambda: self._listening(), 30, "the server to listen")
        return self

    def _listening(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"server exited with {self.proc.returncode}: {self.output()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
            return True
        return False

    def output(self) -> str:
        if not self.log_file.closed:
            self.log_file.flush()
        return Path(self.log_file.name).read_text(errors="replace")

    def stop(self) -> None:
        super().stop()
        self.log_file.close()


def purge_celery_queues(broker_url: str, queues: list[str]) -> None:
    """Remove our queues and the unacked messages a killed worker left for them."""
    import redis

    client = redis.Redis.from_url(broker_url)
    if queues:
        client.delete(*queues)
        client.delete(*[f"_kombu.binding.{q}" for q in queues], *[f"_kombu.binding_permanent.{q}" for q in queues])
    for tag, raw in client.hscan_iter("unacked"):
        if any(q.encode() in raw for q in queues):
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


__all__ = ["ROOT", "CapturingServer", "PrivateRedis", "TcpProxy", "purge_celery_queues", "server_env", "wait_until"]
