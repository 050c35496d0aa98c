"""The real stack on loopback: a dedicated database, Redis prefixes, the servers, Celery.

Everything the bench starts is a child process it ends itself (by pid) on the way out.
Optional knobs (environment variables read by the bench only):

- BENCH_DATABASE   database name to (re)create, default `halobestie_bench`
- BENCH_PG_URL     server to create it on, default `postgres://postgres@127.0.0.1:5432`
- BENCH_REDIS_URL  default `redis://127.0.0.1:6379/0`
- BENCH_SETTINGS   Django settings module, default `halobestie.settings.local` (DEBUG off)
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

SERVER_KINDS = {
    # name -> how to start it; "uvicorn" is the production configuration.
    "uvicorn": {"server": "uvicorn", "ws": "websockets-sansio"},  # what halobestie.serve runs
    "uvicorn-websockets": {"server": "uvicorn", "ws": "websockets"},  # uvicorn's deprecated implementation
    "uvicorn-wsproto": {"server": "uvicorn", "ws": "wsproto"},
    "daphne": {"server": "daphne"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.args[:6]} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


class Server:
    """One ASGI server process (the project's public app or the baseline relay)."""

    def __init__(self, stack: Stack, app: str, kind: str = "uvicorn", label: str = ""):
        self.stack = stack
        self.app = app
        self.kind = kind
        self.label = label or app
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.ps: psutil.Process | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def command(self) -> list[str]:
        spec = SERVER_KINDS[self.kind]
        if spec["server"] == "daphne":
            return [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "-v", "0", self.app]
        return [PY, "-m", "uvicorn", self.app, "--host", "127.0.0.1", "--port", str(self.port),
                "--lifespan", "off", "--log-level", "warning", "--no-access-log",
                "--ws-per-message-deflate", "false", "--ws", spec["ws"]]

    def start(self) -> Server:
        log = open(self.stack.logdir / f"server-{self.port}.log", "wb")  # noqa: SIM115 - kept open
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.stack.env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.stack.children.append(self.proc)
        wait_port(self.port, self.proc)
        self.ps = psutil.Process(self.proc.pid)
        # First request imports the URLconf and views: do it before anything is measured.
        import httpx

        path = "/" if self.app.startswith("bench.relay") else "/api/shared/health"
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(self.http + path, timeout=5, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"{self.label} on {self.port} never answered {path}")
            time.sleep(0.1)
        return self

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system

    def cpu_sys(self) -> float:
        return self.ps.cpu_times().system

    def rss(self) -> int:
        return self.ps.memory_info().rss

    def stop(self) -> None:
        self.stack.stop(self.proc)


class Stack:
    def __init__(self, logdir: Path):
        self.logdir = logdir
        logdir.mkdir(parents=True, exist_ok=True)
        for old in logdir.glob("*"):
            if old.is_file():
                old.unlink()
        self.children: list[subprocess.Popen] = []
        self.db_name = os.environ.get("BENCH_DATABASE", "halobestie_bench")
        self.pg_url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
        self.redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
        self.prefix = f"hbbench{os.getpid()}"
        self.settings = os.environ.get("BENCH_SETTINGS", "halobestie.settings.local")
        self.env = dict(os.environ)
        self.env.update({
            "DJANGO_SETTINGS_MODULE": self.settings,
            "DEBUG": "False",
            "DATABASE_URL": f"{self.pg_url}/{self.db_name}",
            "TEST_DATABASE_NAME": self.db_name,
            "REDIS_URL": self.redis_url,
            "CHANNEL_PREFIX": self.prefix,
            "CACHE_PREFIX": self.prefix,
            "CELERY_QUEUE": self.prefix,
            "CELERY_TASK_ALWAYS_EAGER": "False",
            "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
            "PUSH_BACKEND": "log",
            "LOG_LEVEL": "WARNING",
            # Every bench user signs in from 127.0.0.1: the address ceiling would measure the
            # throttle, not the server.
            "THROTTLE_SIGN_IN": "1000000/min",
            "THROTTLE_SIGN_IN_TOKEN": "1000000/min",
            "THROTTLE_SIGN_IN_ADDRESS": "1000000/min",
            "THROTTLE_PAIRING": "1000000/min",
            "THROTTLE_MESSAGES": "1000000/min",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        self.celery: subprocess.Popen | None = None

    # --- database ------------------------------------------------------------------------

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(f"{self.pg_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.manage("migrate", "--noinput", "-v", "0")

    def manage(self, *args: str) -> str:
        result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                                text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def platform_settings(self, values: dict) -> dict:
        """`manage.py platform_settings set ...`; keys this version does not know are skipped."""
        pending = dict(values)
        skipped: dict = {}
        while pending:
            try:
                self.manage("platform_settings", "set", *(f"{k}={v}" for k, v in pending.items()))
                return skipped
            except RuntimeError as exc:
                bad = [k for k in pending if f"'{k}'" in str(exc)]
                if not bad:
                    raise
                for k in bad:
                    skipped[k] = pending.pop(k)
        return skipped

    def django(self, command: str, args: dict | None = None, timeout: float = 600) -> dict:
        result = subprocess.run([PY, "-m", "bench.djscript", command, json.dumps(args or {})], cwd=ROOT,
                                env=self.env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"bench.djscript {command} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    # --- processes -----------------------------------------------------------------------

    def start_celery(self) -> None:
        log = open(self.logdir / "celery.log", "wb")  # noqa: SIM115 - kept open
        self.celery = subprocess.Popen(
            [PY, "-m", "celery", "-A", "halobestie", "worker", "-P", "solo", "-l", "warning",
             "-Q", self.prefix, "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"{self.prefix}@%h"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.children.append(self.celery)
        time.sleep(1.0)
        if self.celery.poll() is not None:
            raise RuntimeError(f"celery worker exited ({self.celery.returncode}); see {self.logdir}/celery.log")

    def server(self, app: str, kind: str = "uvicorn", label: str = "") -> Server:
        return Server(self, app, kind, label).start()

    def stop(self, proc: subprocess.Popen | None) -> None:
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(5)

    def close(self) -> None:
        for proc in reversed(self.children):
            self.stop(proc)
        self.children.clear()
        self.clean_redis()

    def clean_redis(self) -> None:
        """Drop this run's keys (channel layer, cache, registry, the Celery queue)."""
        with contextlib.suppress(Exception):
            import redis

            r = redis.Redis.from_url(self.redis_url)
            batch = []
            for key in r.scan_iter(match=f"{self.prefix}*", count=1000):
                batch.append(key)
                if len(batch) >= 500:
                    r.delete(*batch)
                    batch = []
            if batch:
                r.delete(*batch)
            # Celery's Redis transport keeps its own keys per queue name.
            for key in r.scan_iter(match=f"_kombu.binding.{self.prefix}*", count=1000):
                r.delete(key)


# --- machine-wide CPU -----------------------------------------------------------------------

def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies-as-seconds of all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        parts = [float(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return (total - idle) / hz, total / hz


def proc_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
    return total


def service_pids() -> dict[str, list[int]]:
    """PostgreSQL and Redis server processes on this machine (for CPU attribution)."""
    out: dict[str, list[int]] = {"postgres": [], "redis": []}
    for p in psutil.process_iter(["name", "cmdline"]):
        name = (p.info["name"] or "").lower()
        if name.startswith("postgres"):
            out["postgres"].append(p.pid)
        elif name.startswith("redis-server"):
            out["redis"].append(p.pid)
    return out


def postgres_cpu(db_name: str) -> tuple[float, float]:
    """CPU of PostgreSQL as (ours, others): backends of `db_name`, the postmaster, its
    auxiliary processes and the backends it reaped (a connection per frame ends in a reaped
    backend, so short-lived connections count) are ours; live backends of other databases
    (another test suite on the machine) are others."""
    ours = others = 0.0
    for p in psutil.process_iter(["name", "cmdline"]):
        if not (p.info["name"] or "").lower().startswith("postgres"):
            continue
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            own = t.user + t.system
            cmd = " ".join(p.info["cmdline"] or [])
            if p.ppid() == 1 or not (psutil.Process(p.ppid()).name() or "").startswith("postgres"):
                ours += own + t.children_user + t.children_system  # the postmaster
            elif "127.0.0.1(" in cmd or "[local]" in cmd:
                if f" {db_name} " in f" {cmd} ":
                    ours += own
                else:
                    others += own
            else:
                ours += own  # checkpointer, walwriter, autovacuum...
    return ours, others
