"""The real stack on loopback: a dedicated database, Redis prefixes, the servers, Celery.

Everything the bench starts is a child process it ends itself (by pid) on the way out.
Optional knobs (environment variables read by the bench only):

- BENCH_DATABASE_NAME  database name to (re)create, default `halobestie_bench`
                   (`BENCH_DATABASE` is read too, for older scripts)
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

RAISED_THROTTLES = {"THROTTLE_SIGN_IN_ADDRESS": "1000000/min"}
NODE_DIR = Path(__file__).resolve().parent / "node_baseline"

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
        if self.kind == "node":
            return [self.stack.node, str(NODE_DIR / "server.js")]
        spec = SERVER_KINDS[self.kind]
        if spec["server"] == "daphne":
            return [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "-v", "0", self.app]
        return [PY, "-m", "uvicorn", self.app, "--host", "127.0.0.1", "--port", str(self.port),
                "--lifespan", "off", "--log-level", "warning", "--no-access-log",
                "--ws-per-message-deflate", "false", "--ws", spec["ws"]]

    def start(self) -> Server:
        log = open(self.stack.logdir / f"server-{self.port}.log", "wb")  # noqa: SIM115 - kept open
        env = self.stack.env
        if self.kind == "node":
            env = {**env, "PORT": str(self.port), "HOST": "127.0.0.1", "NB_PREFIX": f"{self.stack.prefix}:nb",
                   "NODE_ENV": "production"}
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.stack.children.append(self.proc)
        wait_port(self.port, self.proc)
        self.ps = psutil.Process(self.proc.pid)
        # First request imports the URLconf and views: do it before anything is measured.
        import httpx

        path = "/" if (self.app.startswith("bench.relay") or self.kind == "node") else "/api/shared/health"
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
        self.db_name = os.environ.get("BENCH_DATABASE_NAME") or os.environ.get("BENCH_DATABASE") or "halobestie_bench"
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
            # The one throttle raised (RAISED_THROTTLES): sign-in's per-address flood ceiling
            # (1200/min), since every bench user comes from 127.0.0.1. Sign-in per user and per
            # token, pairing requests 20/min, REST message sends 120/min and the socket's flood
            # control (20 frames/s per socket) stay at their defaults.
            **RAISED_THROTTLES,
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        self.celery: subprocess.Popen | None = None
        self.beat: subprocess.Popen | None = None
        self.node: str | None = None  # the node binary, when the Node reference runs

    # --- database ------------------------------------------------------------------------

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(f"{self.pg_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.manage("migrate", "--noinput", "-v", "0")

    def node_schema(self) -> None:
        """(Re)create the Node reference server's tables (bench/node_baseline/schema.sql)."""
        import psycopg

        with psycopg.connect(f"{self.pg_url}/{self.db_name}", autocommit=True) as conn:
            conn.execute((NODE_DIR / "schema.sql").read_text())

    def node_seed(self, groups: list[dict]) -> None:
        """The pairs' users and sessions in the Node server's tables (setup, not measured):
        the same Firebase uids and session ids as the project's pairs."""
        import psycopg

        with psycopg.connect(f"{self.pg_url}/{self.db_name}") as conn, conn.cursor() as cur:
            def user(uid, role, phone=None):
                cur.execute("INSERT INTO nodebase.users (firebase_uid, role, phone) VALUES (%s, %s, %s) "
                            "ON CONFLICT (firebase_uid, role) DO UPDATE SET phone = EXCLUDED.phone RETURNING id",
                            (uid, role, phone))
                return cur.fetchone()[0]

            for g in groups:
                mid = user(g["muid"], "mitra", g["mphone"])
                for ln in g["lanes"]:
                    cid = user(ln["cuid"], "client")
                    cur.execute("INSERT INTO nodebase.sessions (id, client_id, mitra_id) VALUES (%s, %s, %s) "
                                "ON CONFLICT (id) DO NOTHING", (ln["sid"], cid, mid))
            conn.commit()

    def node_seed_idle(self, n: int) -> None:
        """Registered clients for the Node server's idle-socket test (bench-idle-<i>)."""
        import psycopg

        with psycopg.connect(f"{self.pg_url}/{self.db_name}", autocommit=True) as conn:
            conn.execute("INSERT INTO nodebase.users (firebase_uid, role) SELECT 'bench-idle-' || g, 'client' "
                         "FROM generate_series(0, %s) g ON CONFLICT DO NOTHING", (n - 1,))

    def node_rows(self) -> dict:
        import psycopg

        with psycopg.connect(f"{self.pg_url}/{self.db_name}") as conn:
            return {t: conn.execute(f"SELECT count(*) FROM nodebase.{t}").fetchone()[0]
                    for t in ("users", "sessions", "chat_messages", "mitra_presence")}

    def platform_settings_show(self) -> dict:
        out = {}
        for line in self.manage("platform_settings", "show").splitlines():
            key, sep, value = line.partition(" = ")
            if sep:
                out[key.strip()] = value.strip()
        return out

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
        # Beat, as in production (README, "Processes"): the sweep every 5 s — auto-offline of
        # mitras whose heartbeats stopped, overdue session transitions, grace periods.
        beat_log = open(self.logdir / "beat.log", "wb")  # noqa: SIM115 - kept open
        self.beat = subprocess.Popen(
            [PY, "-m", "celery", "-A", "halobestie", "beat", "-l", "warning",
             "-s", str(self.logdir / "beat-schedule"), "--pidfile="],
            cwd=ROOT, env=self.env, stdout=beat_log, stderr=subprocess.STDOUT, start_new_session=True)
        self.children.append(self.beat)
        time.sleep(1.0)
        for name, proc in (("celery worker", self.celery), ("celery beat", self.beat)):
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}); see {self.logdir}/")

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
