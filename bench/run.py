"""`python -m bench`: start the real stack on loopback, measure the project against a bare
relay in the same run, write bench/results/{latest.json, latest.md, latency.png}.

Phases (see bench/README.md for what each figure means):
  setup      fresh database, migrations, platform settings, seed rows, Celery, servers
  pairing    N clients and N mitras sign in and pair over the real API
  chat       baseline then project: saturation (closed loop) and fixed rates (open loop)
  profile    py-spy on the project server during a saturation run
  memory     idle authenticated sockets on a fresh server process (and the relay's)
  connect    new users: sign-in POST + socket open + auth.ok per second
  blast      one pairing request to M online mitras with live sockets
  scale-out  the same saturation with 2 server processes
  servers    (--compare-servers) uvicorn websockets (deprecated) / wsproto and daphne
  explain    EXPLAIN ANALYZE of the hot queries, query counts per operation
"""

from __future__ import annotations

import argparse
import array
import contextlib
import datetime as dt
import os
import platform
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import deps

RESULTS = Path(__file__).resolve().parent / "results"
PHASES = ["chat", "profile", "memory", "connect", "blast", "scaleout", "servers", "explain"]
PROJECT_APP = "halobestie.asgi:application"
RELAY_APP = "bench.relay:app"
CHANNELS_RELAY_APP = "bench.channels_relay:application"

FULL = {
    "pairs": 150, "window": 1, "warm": 2.0, "sat_seconds": 10.0, "rate_seconds": 8.0,
    "rates": [100, 200, 300, 500, 700], "idle_sockets": 5000, "connect_users": 400,
    "blast_mitras": 500, "blasts": 3, "profile_seconds": 8.0, "scaleout": True,
}
QUICK = {
    "pairs": 40, "window": 1, "warm": 1.0, "sat_seconds": 3.0, "rate_seconds": 3.0,
    "rates": [100, 300], "idle_sockets": 300, "connect_users": 100,
    "blast_mitras": 200, "blasts": 2, "profile_seconds": 4.0, "scaleout": True,
}
BENCH_SETTINGS = {
    # One live session per mitra: a paired mitra drops out of later blasts by itself.
    "max_customers_per_mitra": 1,
    "pairing_timeout": 3600,
    "heartbeat_interval": 600,
    "auto_offline_after": 3600,
    "free_trial_enabled": "true",
    "free_trial_minutes": 240,
    "anonymous_trial_allowed": "true",
    "mitra_no_show_after": 3600,
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def mono() -> int:
    return time.monotonic_ns()


def sleep_until(t_ns: int) -> None:
    delay = (t_ns - mono()) / 1e9
    if delay > 0:
        time.sleep(delay)


def pct(sorted_ns: list[int] | array.array, p: float) -> float:
    if not sorted_ns:
        return float("nan")
    idx = min(len(sorted_ns) - 1, max(0, int(round(p / 100 * len(sorted_ns))) - 1))
    return sorted_ns[idx] / 1e6


def latency_summary(lat: list[int]) -> dict:
    lat = sorted(lat)
    return {"samples": len(lat), "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "p99_ms": pct(lat, 99),
            "max_ms": (lat[-1] / 1e6) if lat else float("nan")}


class Bench:
    def __init__(self, args):
        self.args = args
        self.cfg = dict(QUICK if args.quick else FULL)
        if args.pairs:
            self.cfg["pairs"] = args.pairs
        if args.sockets:
            self.cfg["idle_sockets"] = args.sockets
        if args.rates:
            self.cfg["rates"] = [int(r) for r in args.rates.split(",")]
        self.result: dict = {"meta": {}, "chat": {}, "notes": []}
        # Output names: latest.* for the full run, quick.* / whatif-NAME.* otherwise, so a
        # smoke or what-if run never replaces the committed figures.
        self.stem = "quick" if args.quick else "latest"
        if args.whatif:
            self.stem = f"whatif-{args.whatif.replace(',', '-')}" + ("-quick" if args.quick else "")
        self.stack = None
        self.pool = None
        self.started = time.monotonic()

    # --- helpers ---------------------------------------------------------------------------

    def note(self, text: str) -> None:
        log("NOTE " + text)
        self.result["notes"].append(text)

    def cpu_sample(self, servers) -> dict:
        from bench.stack import machine_cpu, postgres_cpu, proc_cpu, service_pids

        busy, total = machine_cpu()
        pg_ours, pg_others = postgres_cpu(self.stack.db_name)
        return {
            "servers": [s.cpu() for s in servers],
            "servers_sys": [s.cpu_sys() for s in servers],
            "machine_busy": busy, "machine_total": total,
            "postgres": pg_ours, "postgres_others": pg_others,
            "bench": proc_cpu([os.getpid()]),
            "redis": proc_cpu(service_pids()["redis"]),
            "celery": proc_cpu([self.stack.celery.pid]) if self.stack.celery else 0.0,
            "clients": [proc_cpu([pid]) for pid in self.pool.pids],
        }

    @staticmethod
    def cpu_delta(a: dict, b: dict) -> dict:
        return {
            "servers": [y - x for x, y in zip(a["servers"], b["servers"], strict=True)],
            "servers_sys": [y - x for x, y in zip(a["servers_sys"], b["servers_sys"], strict=True)],
            "machine_busy": b["machine_busy"] - a["machine_busy"],
            "machine_total": b["machine_total"] - a["machine_total"],
            "postgres": b["postgres"] - a["postgres"],
            "bench": b["bench"] - a["bench"],
            "redis": b["redis"] - a["redis"],
            "celery": b["celery"] - a["celery"],
            "clients": [y - x for x, y in zip(a["clients"], b["clients"], strict=True)],
        }

    # --- chat ------------------------------------------------------------------------------

    def chat_open(self, kind: str, pairs: list[dict], servers_a, servers_b=None) -> None:
        """Open every pair's two sockets. servers_a/b: the server(s) for each side; with
        two processes the client side is on one and the mitra side on the other."""
        servers_b = servers_b or servers_a
        specs = []
        for i, p in enumerate(pairs):
            sa = servers_a[i % len(servers_a)]
            sb = servers_b[i % len(servers_b)]
            if kind == "project":
                from bench.loadgen import token

                specs.append({"kind": kind, "sid": p["sid"], "a_url": f"{sa.ws}/ws/client/",
                              "b_url": f"{sb.ws}/ws/mitra/", "a_token": token(p["cuid"]),
                              "b_token": token(p["muid"], p["mphone"])})
            else:
                key = f"p{i}"
                specs.append({"kind": kind, "sid": f"00000000-0000-0000-0000-{i:012d}",
                              "a_url": f"{sa.ws}/relay/{key}", "b_url": f"{sa.ws}/relay/{key}"})
        from bench.loadgen import split

        res = self.pool.call("chat_open", [{"pairs": part, "conc": 25} for part in split(specs, len(self.pool))])
        failed = sum(r["failed"] for r in res)
        if failed:
            raise RuntimeError(f"{failed} {kind} pairs failed to open: {res[0]['errors'] or res[-1]['errors']}")
        self.chat_sockets = [r["sockets"] for r in res]

    def chat_close(self) -> None:
        self.pool.call("chat_close", {})

    def chat_run(self, mode: str, servers, rate: float = 0.0, seconds: float | None = None) -> dict:
        cfg = self.cfg
        seconds = seconds or (cfg["sat_seconds"] if mode == "closed" else cfg["rate_seconds"])
        t0 = mono() + int(0.5e9)
        w0 = t0 + int(cfg["warm"] * 1e9)
        w1 = w0 + int(seconds * 1e9)
        total = sum(self.chat_sockets)
        args = [{"mode": mode, "rate": rate * n / total if total else 0, "window": cfg["window"],
                 "t0": t0, "w0": w0, "w1": w1, "drain": 30.0}
                for n in self.chat_sockets]
        self.pool.send("chat_run", args)
        sleep_until(w0)
        before = self.cpu_sample(servers)
        rss0 = [s.rss() for s in servers]
        sleep_until(w1)
        after = self.cpu_sample(servers)
        rss1 = [s.rss() for s in servers]
        results = self.pool.recv()
        lat = array.array("q")
        for r in results:
            lat.frombytes(r["lat"])
        span = seconds
        d = self.cpu_delta(before, after)
        delivered = sum(r["deliv_win"] for r in results)
        sent = sum(r["sent_win"] for r in results)
        out = {
            "mode": mode, "offered_per_s": rate if mode == "open" else None, "seconds": span,
            "sent_per_s": sent / span, "delivered_per_s": delivered / span,
            "sent_in_window": sent, "latency_samples": len(lat),
            "lost": sum(r["undelivered"] for r in results) if mode == "open" else None,
            "errors": sum(r["errors"] for r in results), "send_errors": sum(r["send_errors"] for r in results),
            "error_samples": [e for r in results for e in r["err_samples"]][:3],
            "acks": sum(r["acks"] for r in results),
            "client_lag_p99_ms": max(r["lag_p99_ms"] for r in results),
            "client_lag_max_ms": max(r["lag_max_ms"] for r in results),
            "drain_s": max(r["drain_s"] for r in results),
            **latency_summary(list(lat)),
            "server_cpu_s": d["servers"],
            "server_cpu_pct": [100 * c / span for c in d["servers"]],
            "server_sys_share_pct": (100 * sum(d["servers_sys"]) / sum(d["servers"])) if sum(d["servers"]) else None,
            "server_cpu_us_per_msg": (sum(d["servers"]) * 1e6 / delivered) if delivered else None,
            "stack_cpu_us_per_msg": ((sum(d["servers"]) + d["postgres"] + d["redis"] + d["celery"]) * 1e6
                                     / delivered) if delivered else None,
            "postgres_cpu_pct": 100 * d["postgres"] / span, "redis_cpu_pct": 100 * d["redis"] / span,
            "celery_cpu_pct": 100 * d["celery"] / span,
            "client_cpu_pct": [100 * c / span for c in d["clients"]],
            "machine_busy_pct": 100 * d["machine_busy"] / d["machine_total"] if d["machine_total"] else None,
            # CPU of everything that is not the bench's own stack (another test suite, ...),
            # as % of one core; live backends of other databases count as not ours.
            "foreign_cpu_pct": 100 * max(0.0, d["machine_busy"] - sum(d["servers"]) - d["postgres"] - d["redis"]
                                         - d["celery"] - sum(d["clients"]) - d["bench"]) / span,
            "server_rss_mib": [r / 2**20 for r in rss1],
            "server_rss_growth_mib": [(b - a) / 2**20 for a, b in zip(rss0, rss1, strict=True)],
        }
        return out

    def quiet_run(self, label: str, mode: str, servers, **kw) -> dict:
        """A run that is repeated once when other processes took a noticeable share of the
        machine during it; the less disturbed of the two is kept."""
        self.settle()
        r = self.chat_run(mode, servers, **kw)
        if r["foreign_cpu_pct"] > 25:
            log(f"  {label}: other processes used {r['foreign_cpu_pct']:.0f}% of a core meanwhile; once more")
            self.settle(30.0)
            again = self.chat_run(mode, servers, **kw)
            again["repeated_because_foreign_cpu_pct"] = r["foreign_cpu_pct"]
            if again["foreign_cpu_pct"] < r["foreign_cpu_pct"]:
                r = again
        self.describe(label, r)
        return r

    def settle(self, limit: float = 15.0) -> None:
        """With --wait-idle: before a measured run, wait (up to `limit` s) for the machine to
        be under 15% busy, so another process's burst does not land in the window."""
        if not self.args.wait_idle:
            return
        from bench.stack import machine_cpu

        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            b0, t0 = machine_cpu()
            time.sleep(0.5)
            b1, t1 = machine_cpu()
            if t1 > t0 and 100 * (b1 - b0) / (t1 - t0) < 15:
                return

    def describe(self, label: str, r: dict) -> None:
        rate = f"offered {r['offered_per_s']:.0f}/s " if r["offered_per_s"] else ""
        log(f"  {label}: {rate}delivered {r['delivered_per_s']:.0f} msg/s, p50 {r['p50_ms']:.1f} "
            f"p95 {r['p95_ms']:.1f} p99 {r['p99_ms']:.1f} ms, server CPU "
            f"{'+'.join(f'{c:.0f}' for c in r['server_cpu_pct'])}% "
            f"({(r['server_cpu_us_per_msg'] or 0):.0f} µs/msg), clients "
            f"{'+'.join(f'{c:.0f}' for c in r['client_cpu_pct'])}%, machine {r['machine_busy_pct']:.0f}%"
            + (f", other processes {r['foreign_cpu_pct']:.0f}%" if r["foreign_cpu_pct"] >= 10 else "")
            + (f", lost {r['lost']}" if r.get("lost") else "") + (f", errors {r['errors']}" if r["errors"] else ""))

    def chat_suite(self, kind: str, servers, pairs: list[dict], rates: list[int] | None = None) -> dict:
        out: dict = {"pairs": len(pairs), "sockets": 2 * len(pairs), "server": self.args.server}
        self.chat_open(kind, pairs, servers)
        try:
            # A short warm-up run: first-use imports, pools, JIT-free but cache-hungry paths.
            self.chat_run("open", servers, rate=100, seconds=1.0)
            out["saturation"] = self.quiet_run(f"{kind} saturation", "closed", servers)
            out["rates"] = []
            saturation = out["saturation"]["delivered_per_s"]
            for rate in (self.cfg["rates"] if rates is None else rates):
                if rate > 1.5 * saturation:
                    # The backlog would take minutes to drain and the latency only says "overloaded".
                    out["rates"].append({"mode": "open", "offered_per_s": rate, "skipped": True,
                                         "reason": f"above 1.5 x the measured saturation ({saturation:.0f} msg/s)"})
                    log(f"  {kind} @{rate}: skipped (over saturation)")
                    continue
                out["rates"].append(self.quiet_run(f"{kind} @{rate}", "open", servers, rate=rate))
        finally:
            self.chat_close()
        return out

    # --- phases ------------------------------------------------------------------------------

    def phase_setup(self) -> None:
        from bench.stack import Stack

        cfg = self.cfg
        self.stack = Stack(Path(__file__).resolve().parent / ".logs")
        log(f"setup: database {self.stack.db_name} (fresh), Redis prefix {self.stack.prefix}, "
            f"settings {self.stack.settings} with DEBUG off")
        self.stack.create_database()
        skipped = self.stack.platform_settings(BENCH_SETTINGS)
        if skipped:
            self.note(f"platform settings this version does not know were skipped: {sorted(skipped)}")
        seeded = self.stack.django("seed", {"pair_mitras": cfg["pairs"] * 2, "blast_mitras": cfg["blast_mitras"],
                                            "idle_clients": cfg["idle_sockets"] + 10})
        log(f"setup: seeded {seeded}")
        self.stack.start_celery()
        self.project = self.stack.server(PROJECT_APP, self.args.server, "project")
        self.relay = self.stack.server(RELAY_APP, self.args.server, "baseline relay")
        log(f"setup: project on :{self.project.port} (pid {self.project.pid}), relay on :{self.relay.port} "
            f"(pid {self.relay.pid}), celery pid {self.stack.celery.pid}")

    def phase_pairing(self) -> None:
        from bench.djscript import PAIR_MITRA_PHONE, pair_mitra_uid
        from bench.loadgen import split

        n = self.cfg["pairs"] * (2 if self.cfg["scaleout"] else 1)
        items = [{"cuid": f"bench-client-{i}", "muid": pair_mitra_uid(i), "mphone": PAIR_MITRA_PHONE.format(i)}
                 for i in range(n)]
        t = time.monotonic()
        res = self.pool.call("pair", [{"http": self.project.http, "items": part, "lanes": 8 // len(self.pool)}
                                      for part in split(items, len(self.pool))])
        seconds = time.monotonic() - t
        self.pairs = [p for r in res for p in r["pairs"]]
        failed = sum(r["failed"] for r in res)
        self.result["pairing"] = {"pairs": len(self.pairs), "failed": failed, "seconds": seconds,
                                  "pairs_per_s": len(self.pairs) / seconds,
                                  "errors": [e for r in res for e in r["errors"]][:3]}
        log(f"pairing: {len(self.pairs)} pairs over the API in {seconds:.1f} s "
            f"({len(self.pairs) / seconds:.1f} pairs/s; 5 requests each), {failed} failed")
        if len(self.pairs) < self.cfg["pairs"]:
            raise RuntimeError(f"pairing failed: {self.result['pairing']['errors']}")

    def phase_chat(self) -> None:
        n = self.cfg["pairs"]
        log(f"chat: baseline (bare relay), {n} pairs")
        self.result["chat"]["baseline"] = self.chat_suite("baseline", [self.relay], self.pairs[:n])
        log(f"chat: project, {n} pairs")
        self.result["chat"]["project"] = self.chat_suite("project", [self.project], self.pairs[:n])
        log(f"chat: reference — the relay as a Channels consumer over the same channel layer, {n} pairs")
        chan = self.stack.server(CHANNELS_RELAY_APP, self.args.server, "channels relay")
        try:
            self.result["chat"]["channels"] = self.chat_suite("channels", [chan], self.pairs[:n],
                                                              rates=[] if self.args.quick else [300])
        finally:
            chan.stop()

    @contextlib.contextmanager
    def spy(self, server, seconds: int, name: str, what: str):
        """py-spy record of one server process for `seconds`: samples of the thread holding the
        GIL (`--gil`), i.e. where the process spends CPU running Python."""
        from bench.profile import summarize, write_text

        raw = self.stack.logdir / f"profile_{name}.raw"
        raw.unlink(missing_ok=True)
        proc = subprocess.Popen(
            [deps.py_spy(), "record", "--pid", str(server.pid), "--duration", str(seconds), "--rate", "250",
             "--format", "raw", "--threads", "--gil", "--nonblocking", "--output", str(raw)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.stack.children.append(proc)
        time.sleep(0.5)
        extra: dict = {}
        try:
            yield extra
        finally:
            try:
                _, err = proc.communicate(timeout=seconds + 60)
            except subprocess.TimeoutExpired:
                self.stack.stop(proc)
                err = b"timed out"
            if raw.exists() and raw.stat().st_size:
                summary = summarize(raw, rate=250, seconds=seconds)
                summary.update(extra, what=what)
                write_text(summary, RESULTS / (f"profile_{name}.txt" if self.stem == "latest"
                                               else f"{self.stem}-profile_{name}.txt"))
            else:
                summary = {"error": f"py-spy recorded nothing: {err.decode(errors='replace')[-300:]}"}
                self.note(f"py-spy ({name}) failed: {summary['error']}")
            self.result.setdefault("profiles", {})[name] = summary

    def phase_profile(self) -> None:
        n = self.cfg["pairs"]
        seconds = int(self.cfg["profile_seconds"])
        log(f"profile: py-spy on the project server during a {seconds} s saturation run")
        self.chat_open("project", self.pairs[:n], [self.project])
        try:
            with self.spy(self.project, seconds + 1, "chat", f"chat saturation, {n} pairs") as extra:
                r = self.chat_run("closed", [self.project], seconds=seconds - self.cfg["warm"])
                extra["delivered_per_s"] = r["delivered_per_s"]
        finally:
            self.chat_close()

    def idle_test(self, app: str, label: str, sockets: int, auth: bool, path: str) -> dict:
        """Open `sockets` idle sockets on a fresh server process and read its RSS."""
        from bench.djscript import idle_client_uid
        from bench.loadgen import split

        server = self.stack.server(app, self.args.server, label)
        try:
            warm = [idle_client_uid(i) for i in range(10)]
            self.pool.call("idle_open", [{"url": server.ws + path, "uids": part, "conc": 5, "auth": auth}
                                         for part in split(warm, len(self.pool))])
            self.pool.call("idle_close", {})
            time.sleep(1.0)
            rss0 = server.rss()
            uids = [idle_client_uid(i) for i in range(10, 10 + sockets)]
            t = time.monotonic()
            res = self.pool.call("idle_open", [{"url": server.ws + path, "uids": part, "conc": 50, "auth": auth}
                                               for part in split(uids, len(self.pool))])
            seconds = time.monotonic() - t
            time.sleep(2.0)
            rss1 = server.rss()
            held = self.pool.call("idle_check", {})
            opened = sum(r["open"] for r in res)
            failed = sum(r["failed"] for r in res)
            still_open = sum(h["open"] for h in held)
            cpu = server.cpu()
            time.sleep(3.0)
            idle_cpu_pct = 100 * (server.cpu() - cpu) / 3.0
            self.pool.call("idle_close", {})
            stale = self.stale_registry() if auth else None
            out = {"sockets": sockets, "registry_entries_left_after_close": stale, "opened": opened, "failed": failed, "still_open_after": still_open,
                   "open_seconds": seconds, "rss_before_mib": rss0 / 2**20, "rss_after_mib": rss1 / 2**20,
                   "kib_per_socket": (rss1 - rss0) / 1024 / max(1, opened), "idle_cpu_pct": idle_cpu_pct,
                   "errors": [e for r in res for e in r["errors"]][:3]}
            log(f"  {label}: {opened}/{sockets} open ({failed} failed) in {seconds:.1f} s, RSS "
                f"{rss0 / 2**20:.0f} → {rss1 / 2**20:.0f} MiB = {out['kib_per_socket']:.1f} KiB/socket, "
                f"{still_open} still open, idle CPU {idle_cpu_pct:.1f}%"
                + (f"; {stale} socket-registry entries still live 3 s after every socket closed" if stale else ""))
            return out
        finally:
            server.stop()

    def stale_registry(self) -> int:
        """Live entries left in the socket registry (halobestie/sockets/registry.py) once every
        socket has closed: each one makes `has_live_socket` skip a push for up to its TTL."""
        import redis

        time.sleep(3.0)
        r = redis.Redis.from_url(self.stack.redis_url)
        now = time.time()
        left = 0
        for key in r.scan_iter(match=f"{self.stack.prefix}:sockets:*", count=1000):
            left += r.zcount(key, now, "+inf")
        return left

    def server_log_summary(self) -> dict:
        """Warnings and errors the servers logged during the run (evidence for findings)."""
        import collections
        import re

        counts: collections.Counter = collections.Counter()
        for path in self.stack.logdir.glob("server-*.log"):
            for line in path.read_text(errors="replace").splitlines():
                m = re.search(r"\b(WARNING|ERROR)\b\s+(\S+)\s+\[[^\]]*\]\s+(.*)", line)
                if m:
                    counts[f"{m[1]} {m[2]}: {m[3][:120]}"] += 1
                elif re.match(r"^\w+(\.\w+)*(Error|Exception): ", line):
                    counts[f"exception {line[:140]}"] += 1
        return dict(counts.most_common(12))

    def phase_memory(self) -> None:
        n = self.cfg["idle_sockets"]
        log(f"memory: {n} idle sockets on a fresh server process each")
        self.result["memory"] = {
            "project": self.idle_test(PROJECT_APP, "project (authenticated client sockets)", n, True, "/ws/client/"),
            "baseline": self.idle_test(RELAY_APP, "baseline relay (unauthenticated)", n, False, "/relay/idle-{}"),
        }

    def phase_connect(self) -> None:
        from bench.loadgen import split

        n = self.cfg["connect_users"]
        log(f"connect: {n} new users (sign-in POST + socket + auth.ok), 32 at a time")
        uids = [f"bench-new-{i}" for i in range(n)]
        t0 = mono() + int(0.3e9)
        before = self.cpu_sample([self.project])
        res = self.pool.call("connrate", [{"http": self.project.http, "ws_url": self.project.ws + "/ws/client/",
                                           "uids": part, "conc": 32 // len(self.pool), "t0": t0}
                                          for part in split(uids, len(self.pool))])
        after = self.cpu_sample([self.project])
        t_end = max(r["t_end"] for r in res)
        durations = sorted(d for r in res for d in r["durations"])
        seconds = (t_end - t0) / 1e9
        d = self.cpu_delta(before, after)
        self.result["connect"] = {
            "users": n, "ok": len(durations), "failed": sum(r["failed"] for r in res), "seconds": seconds,
            "per_s": len(durations) / seconds, "p50_ms": pct(durations, 50), "p95_ms": pct(durations, 95),
            "p99_ms": pct(durations, 99), "concurrency": 32,
            "server_cpu_ms_per_connect": sum(d["servers"]) * 1e3 / max(1, len(durations)),
            "errors": [e for r in res for e in r["errors"]][:3]}
        c = self.result["connect"]
        log(f"  {c['ok']} connected in {seconds:.1f} s = {c['per_s']:.0f}/s, p50 {c['p50_ms']:.0f} ms, "
            f"p95 {c['p95_ms']:.0f} ms, server {c['server_cpu_ms_per_connect']:.1f} ms CPU each")
        if self.wanted("profile"):
            uids = [f"bench-new-spy-{i}" for i in range(n)]
            spy_seconds = max(2, int(seconds * 1.2) + 1)
            with self.spy(self.project, spy_seconds, "connect", f"{n} new users connecting") as extra:
                t0 = mono() + int(0.1e9)
                res = self.pool.call("connrate", [{"http": self.project.http, "ws_url": self.project.ws + "/ws/client/",
                                                   "uids": part, "conc": 32 // len(self.pool), "t0": t0}
                                                  for part in split(uids, len(self.pool))])
                extra["per_s"] = sum(len(r["durations"]) for r in res) / ((max(r["t_end"] for r in res) - t0) / 1e9)

    def phase_blast(self) -> None:
        import httpx

        from bench.djscript import BLAST_MITRA_PHONE, blast_mitra_uid
        from bench.loadgen import split, token

        m = self.cfg["blast_mitras"]
        log(f"blast: {m} mitras online (REST) with live sockets")
        items = [{"muid": blast_mitra_uid(i), "mphone": BLAST_MITRA_PHONE.format(i)} for i in range(m)]
        res = self.pool.call("mitras_online", [{"http": self.project.http, "items": part, "conc": 16}
                                               for part in split(items, len(self.pool))])
        online = sum(r["ok"] for r in res)
        res = self.pool.call("blast_open", [{"url": self.project.ws + "/ws/mitra/", "items": part, "conc": 50}
                                            for part in split(items, len(self.pool))])
        sockets = sum(r["open"] for r in res)
        log(f"  {online} online, {sockets} sockets open")
        blasts = []
        try:
            with httpx.Client(base_url=self.project.http, timeout=60, trust_env=False) as api:
                for b in range(self.cfg["blasts"] + (1 if self.wanted("profile") else 0)):
                    profiled = b == self.cfg["blasts"]
                    spy = (self.spy(self.project, 3, "blast", f"one blast to {sockets} mitras")
                           if profiled else contextlib.nullcontext({}))
                    tok = token(f"bench-blaster-{b}")
                    h = {"Authorization": f"Bearer {tok}"}
                    api.post("/api/client/auth/session", json={}, headers=h).raise_for_status()
                    time.sleep(0.5)
                    with spy as extra:
                        t_post = mono()
                        r = api.post("/api/client/pairing-requests", json={"free_trial": True}, headers=h)
                        t_resp = mono()
                        if r.status_code != 201:
                            raise RuntimeError(f"blast request failed: {r.status_code} {r.text[:200]}")
                        rid = r.json()["id"]
                        got = self.pool.call("blast_collect", {"request_id": rid, "timeout": 15.0})
                        arrivals = sorted(a for g in got for a in g["arrivals"])
                        extra["last_ms"] = (arrivals[-1] - t_post) / 1e6 if arrivals else None
                    if profiled:
                        api.post(f"/api/client/pairing-requests/{rid}/cancel", headers=h)
                        continue
                    arrivals = sorted(a for g in got for a in g["arrivals"])
                    expected = sum(g["expected"] for g in got)
                    blast = {"mitras": expected, "delivered": len(arrivals),
                             "post_ms": (t_resp - t_post) / 1e6,
                             "first_ms": (arrivals[0] - t_post) / 1e6 if arrivals else None,
                             "median_ms": (arrivals[len(arrivals) // 2] - t_post) / 1e6 if arrivals else None,
                             "last_ms": (arrivals[-1] - t_post) / 1e6 if arrivals else None}
                    blasts.append(blast)
                    log(f"  blast {b + 1}: {len(arrivals)}/{expected} offers, POST answered in "
                        f"{blast['post_ms']:.0f} ms, first {blast['first_ms'] or 0:.0f} ms, last "
                        f"{blast['last_ms'] or 0:.0f} ms after the POST")
                    api.post(f"/api/client/pairing-requests/{rid}/cancel", headers=h)
                    time.sleep(1.0)
        finally:
            self.pool.call("blast_close", {})
        complete = [b for b in blasts if b["delivered"] == b["mitras"]]
        self.result["blast"] = {"mitras_online": online, "sockets": sockets, "runs": blasts,
                                "last_ms_median": sorted(b["last_ms"] for b in blasts if b["last_ms"])[len(blasts) // 2]
                                if blasts else None,
                                "all_delivered": len(complete) == len(blasts)}

    def phase_scaleout(self) -> None:
        n = self.cfg["pairs"]
        two = 2 * n
        log(f"scale-out: 2 project processes, {two} pairs, client side on one and mitra side on the other")
        second = self.stack.server(PROJECT_APP, self.args.server, "project #2")
        relay2 = self.stack.server(RELAY_APP, self.args.server, "relay #2")
        out: dict = {}
        try:
            pairs = self.pairs[:two]
            self.chat_open("project", pairs, [self.project], [second])
            try:
                self.chat_run("open", [self.project, second], rate=100, seconds=1.0)
                out["project_two"] = self.quiet_run("project x2 saturation", "closed", [self.project, second])
                if 300 <= 1.5 * out["project_two"]["delivered_per_s"]:
                    out["project_two_300"] = self.quiet_run("project x2 @300", "open", [self.project, second], rate=300)
            finally:
                self.chat_close()
            # The one-process figure again, with the same number of sockets.
            self.chat_open("project", pairs, [self.project])
            try:
                out["project_one"] = self.quiet_run(f"project x1 saturation ({two} pairs)", "closed", [self.project])
            finally:
                self.chat_close()
            self.chat_open("baseline", pairs, [self.relay, relay2])
            try:
                out["baseline_two"] = self.quiet_run("baseline x2 saturation", "closed", [self.relay, relay2])
            finally:
                self.chat_close()
            self.chat_open("baseline", pairs, [self.relay])
            try:
                out["baseline_one"] = self.quiet_run(f"baseline x1 saturation ({two} pairs)", "closed", [self.relay])
            finally:
                self.chat_close()
        finally:
            second.stop()
            relay2.stop()
        out["project_ratio"] = out["project_two"]["delivered_per_s"] / out["project_one"]["delivered_per_s"]
        out["baseline_ratio"] = out["baseline_two"]["delivered_per_s"] / out["baseline_one"]["delivered_per_s"]
        log(f"  scale-out: project x{out['project_ratio']:.2f}, baseline x{out['baseline_ratio']:.2f}")
        self.result["scaleout"] = out

    def phase_servers(self) -> None:
        kinds = [k for k in ("uvicorn", "uvicorn-websockets", "uvicorn-wsproto", "daphne")
                 if k != self.args.server or "project" not in self.result["chat"]]
        n = self.cfg["pairs"]
        out = {}
        for kind in kinds:
            log(f"servers: {kind}")
            proj = self.stack.server(PROJECT_APP, kind, f"project ({kind})")
            relay = self.stack.server(RELAY_APP, kind, f"relay ({kind})")
            entry = {}
            try:
                for label, k, srv in (("baseline", "baseline", relay), ("project", "project", proj)):
                    self.chat_open(k, self.pairs[:n], [srv])
                    try:
                        self.chat_run("open", [srv], rate=100, seconds=1.0)
                        sat = self.quiet_run(f"{kind} {label} saturation", "closed", [srv])
                        at = (self.quiet_run(f"{kind} {label} @300", "open", [srv], rate=300)
                              if 300 <= 1.5 * sat["delivered_per_s"] else None)
                        entry[label] = {"saturation": sat, "at_300": at}
                    finally:
                        self.chat_close()
            finally:
                proj.stop()
                relay.stop()
            out[kind] = entry
        self.result["servers"] = out

    def phase_explain(self) -> None:
        log("explain: hot queries (EXPLAIN ANALYZE in rolled-back transactions)")
        self.result["explain"] = self.stack.django("explain")
        self.result["db"] = self.stack.django("count")

    # --- driver ------------------------------------------------------------------------------

    def wanted(self, name: str) -> bool:
        if self.args.only:
            return name in self.args.only.split(",")
        if name == "profile":
            return not self.args.no_profile
        if name == "scaleout":
            return self.cfg["scaleout"]
        if name == "servers":
            return self.args.compare_servers
        return True

    def wait_idle(self) -> None:
        """Wait (up to --wait-idle seconds) for the machine to be quiet before measuring."""
        from bench.stack import machine_cpu

        deadline = time.monotonic() + self.args.wait_idle
        while True:
            b0, t0 = machine_cpu()
            time.sleep(2.0)
            b1, t1 = machine_cpu()
            busy = 100 * (b1 - b0) / (t1 - t0) if t1 > t0 else 0
            if busy < 15:
                return
            if time.monotonic() > deadline:
                self.note(f"the machine was still {busy:.0f}% busy after waiting {self.args.wait_idle} s")
                return
            log(f"waiting for a quiet machine: {busy:.0f}% busy")

    def meta(self) -> None:
        import psutil

        from bench.stack import machine_cpu

        def version(dist):
            from importlib.metadata import PackageNotFoundError
            from importlib.metadata import version as v

            try:
                return v(dist)
            except PackageNotFoundError:
                return None

        from bench.stack import ROOT

        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
        changed = [line[3:] for line in subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                                       cwd=ROOT, capture_output=True, text=True).stdout.splitlines()
                   if not line[3:].startswith("bench/")]
        dirty = bool(changed)
        b0, t0 = machine_cpu()
        time.sleep(1.0)
        b1, t1 = machine_cpu()
        cpu_model = ""
        with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
            cpu_model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
        self.result["meta"] = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "commit": commit + ("+dirty" if dirty else ""),
            "uncommitted": changed[:20],
            "command": "python -m bench " + " ".join(sys.argv[1:]),
            "mode": "quick" if self.args.quick else "full",
            "machine": {"cores": os.cpu_count(), "cpu": cpu_model,
                        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
                        "busy_before_start_pct": round(100 * (b1 - b0) / (t1 - t0), 1) if t1 > t0 else None,
                        "python": platform.python_version()},
            "versions": {d: version(d) for d in ("Django", "channels", "channels-redis", "redis", "uvicorn",
                                                 "websockets", "wsproto", "daphne", "psycopg", "uvloop")},
            "server": self.args.server, "client_processes": self.args.client_procs,
            "config": self.cfg,
        }
        busy = self.result["meta"]["machine"]["busy_before_start_pct"]
        if busy and busy > 15:
            self.note(f"the machine was {busy:.0f}% busy before the bench started: figures are pessimistic")

    def run(self) -> None:
        from bench.loadgen import Pool

        if self.args.wait_idle:
            self.wait_idle()
        self.meta()
        self.pool = Pool(self.args.client_procs)
        failure = None
        try:
            self.phase_setup()
            self.phase_pairing()
            for name in PHASES:
                if self.wanted(name):
                    getattr(self, f"phase_{name}")()
        except BaseException as exc:  # noqa: BLE001 - partial results are written, then re-raised
            failure = exc
            self.result["error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
        finally:
            self.result["meta"]["seconds"] = round(time.monotonic() - self.started, 1)
            if self.stack:
                with contextlib.suppress(Exception):
                    self.result["server_log"] = self.server_log_summary()
            with contextlib.suppress(Exception):
                self.pool.close()
            if self.stack:
                self.stack.close()
        from bench.report import write

        if self.args.whatif:
            self.result["meta"]["whatif"] = self.args.whatif
        paths = write(self.result, RESULTS, self.stem)
        log(f"done in {self.result['meta']['seconds']:.0f} s: " + ", ".join(str(p) for p in paths))
        if failure is not None:
            raise failure
        print()
        print(paths[1].read_text().split("\n## Latency")[0])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="reduced run (~2 minutes), e.g. for a CI smoke")
    parser.add_argument("--sockets", type=int, help="idle sockets held by one process (default 5000; 300 quick)")
    parser.add_argument("--pairs", type=int, help="chat pairs (default 150; 40 quick)")
    parser.add_argument("--rates", help="fixed offered rates, msg/s, comma-separated (default 100,200,300,500,700)")
    parser.add_argument("--server", default="uvicorn",
                        choices=["uvicorn", "uvicorn-websockets", "uvicorn-wsproto", "daphne"],
                        help="server stack for the main figures (default: uvicorn with websockets-sansio, "
                             "as in production)")
    parser.add_argument("--compare-servers", action="store_true",
                        help="also measure uvicorn's deprecated websockets implementation, wsproto and daphne")
    parser.add_argument("--client-procs", type=int, default=2, help="bench client processes (default 2)")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile")
    parser.add_argument("--no-install", action="store_true",
                        help="do not pip-install bench/requirements.txt when missing; only say so")
    parser.add_argument("--out", help="write results here instead of bench/results/")
    parser.add_argument("--whatif", help="measure the project with a proposed settings change from "
                        "bench/whatif_settings.py (dbpool, persistent); results go to whatif-NAME.*")
    parser.add_argument("--only", help=f"comma-separated phases to run after setup and pairing: {','.join(PHASES)}")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="first wait up to this long for the machine to be under 15%% busy")
    args = parser.parse_args()
    deps.ensure(install=not args.no_install)
    if args.whatif:
        os.environ["BENCH_BASE_SETTINGS"] = os.environ.get("BENCH_SETTINGS", "halobestie.settings.local")
        os.environ["BENCH_SETTINGS"] = "bench.whatif_settings"
        os.environ["BENCH_WHATIF"] = args.whatif
    global RESULTS
    if args.out:
        RESULTS = Path(args.out).resolve()
    RESULTS.mkdir(parents=True, exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    need = (args.sockets or 2000) * 2 + 2000
    if hard < need:
        print(f"bench: the open-file limit ({hard}) is below {need}; raise it (ulimit -n) for --sockets", file=sys.stderr)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    Bench(args).run()
