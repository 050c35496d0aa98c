"""`python -m bench`: start the real stack on loopback, measure the project against two
baselines in the same run — the original system's stack (a Node reference server,
`bench/node_baseline/`) and a bare relay — on the product's DEFAULT platform settings, and
write bench/results/{latest.json, latest.md, latency.png}.

Phases (see bench/README.md for what each figure means):
  setup      fresh database, migrations, default platform settings, seed rows, Celery worker
             + beat, the servers (project, Node reference, bare relay)
  pairing    clients and mitras sign in and pair over the real API (3 seats per mitra)
  chat       relay, Node reference, project: saturation (closed loop), an offered-rate ladder
             (open loop), the sustained rate, half of it and twice it (overload)
  profile    py-spy on the project server during a saturation run
  memory     idle authenticated sockets on a fresh server process (project, Node, relay)
  connect    new users: sign-in POST + socket open + auth.ok per second (project, Node)
  blast      one pairing request to M online mitras with live sockets
  scale-out  the same saturation with 2 project processes
  servers    (--compare-servers) uvicorn websockets (deprecated) / wsproto and daphne
  explain    EXPLAIN ANALYZE of the hot queries, query counts per operation
"""

from __future__ import annotations

import argparse
import array
import contextlib
import datetime as dt
import math
import os
import platform
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import cpucap, deps

RESULTS = Path(__file__).resolve().parent / "results"
# Scale-out, capped: each project process gets this share of one core (bench/cpucap.py).
CAPPED_SHARE = 0.3
PHASES = ["chat", "profile", "memory", "connect", "blast", "scaleout", "servers", "explain"]
PROJECT_APP = "halobestie.asgi:application"
RELAY_APP = "bench.relay:app"
CHANNELS_RELAY_APP = "bench.channels_relay:application"
NODE_APP = "node"  # bench/node_baseline/server.js (Stack.server(kind="node"))

# The offered-rate ladder (msg/s, open loop) every target climbs until it stops keeping up;
# the same rates for all three, so their latencies compare rate by rate.
FULL = {
    "pairs": 200, "window": 1, "warm": 1.5, "sat_seconds": 8.0, "rate_seconds": 6.0,
    "ladder": [25, 50, 100, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 4000],
    "relay_ladder": [100, 1000, 2000, 4000],
    "p99_ms": 100.0, "keep_up": 0.97, "idle_sockets": 5000, "connect_users": 400,
    "blast_mitras": 500, "blasts": 3, "profile_seconds": 8.0, "scaleout": True, "channels": True,
    "refine": True, "drain": 30.0,
}
QUICK = {
    "pairs": 40, "window": 1, "warm": 1.0, "sat_seconds": 3.0, "rate_seconds": 3.0,
    "ladder": [25, 50, 100, 200, 300, 500, 700, 1000, 1500, 2000, 3000], "relay_ladder": [100, 1000],
    "p99_ms": 100.0, "keep_up": 0.97,
    "idle_sockets": 300, "connect_users": 100, "blast_mitras": 200, "blasts": 2, "profile_seconds": 4.0,
    "scaleout": False, "channels": False, "refine": False, "drain": 20.0,
}
# --tuned: the settings the bench used to run with (issue 8). NOT the product: one seat
# per mitra, heartbeats practically off, 240-minute trials. Results go to tuned.*.
TUNED_SETTINGS = {
    "max_customers_per_mitra": 1,
    "pairing_timeout": 3600,
    "heartbeat_interval": 600,
    "auto_offline_after": 3600,
    "free_trial_enabled": "true",
    "free_trial_minutes": 240,
    "anonymous_trial_allowed": "true",
    "mitra_no_show_after": 3600,
}
# The defaults the headline claims to run on (checked against `platform_settings show`).
PRODUCT_DEFAULTS = {"max_customers_per_mitra": "3", "heartbeat_interval": "30", "auto_offline_after": "90",
                    "free_trial_minutes": "15", "pairing_timeout": "60", "free_trial_enabled": "True"}
TARGET_LABELS = {"project": "project", "node": "Node reference", "relay": "bare relay", "channels": "Channels relay"}


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


def round_rate(rate: float) -> int:
    """A rate rounded to two significant digits (1,234 → 1,200; 283 → 280)."""
    if rate < 10:
        return max(1, int(round(rate)))
    step = 10 ** (int(math.log10(rate)) - 1)
    return int(round(rate / step) * step)


class Bench:
    def __init__(self, args):
        self.args = args
        self.cfg = dict(QUICK if args.quick else FULL)
        if args.pairs:
            self.cfg["pairs"] = args.pairs
        if args.sockets:
            self.cfg["idle_sockets"] = args.sockets
        if args.rates:
            self.cfg["ladder"] = [int(r) for r in args.rates.split(",")]
        if args.p99_ms:
            self.cfg["p99_ms"] = args.p99_ms
        self.result: dict = {"meta": {}, "chat": {}, "notes": []}
        # Output names: latest.* for the full run, quick.* / tuned.* / whatif-NAME.* otherwise,
        # so a smoke, tuned or what-if run never replaces the committed figures.
        self.stem = "quick" if args.quick else "latest"
        if args.tuned:
            self.stem = "tuned" + ("-quick" if args.quick else "")
        if args.whatif:
            self.stem = f"whatif-{args.whatif.replace(',', '-')}" + ("-quick" if args.quick else "")
        self.stack = None
        self.pool = None
        self.node = None
        self.node_why = ""
        self.groups: list[list[dict]] = []  # per worker: that worker's mitra groups
        self.paired_at = None
        self.started = time.monotonic()
        # Disturbed runs are repeated once while this lasts (a busy machine would otherwise
        # double the run's length).
        self.repeats_left = 4 if args.quick else 10
        self.disturbed_not_repeated = 0

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
            "celery": proc_cpu([p.pid for p in (self.stack.celery, self.stack.beat) if p]),
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

    def seats(self) -> int:
        return int(self.result["meta"].get("platform_settings", {}).get("max_customers_per_mitra", 3))

    def chat_open(self, kind: str, client_servers: list, mitra_server=None) -> None:
        """Open every lane's sockets on `kind`. Project: the mitra side is the mitras' home
        sockets (on self.project) unless `mitra_server` is another process; the client side
        on `client_servers` (one per mitra group, in turn). Node/relays: both sides on the
        target; relay sockets name their rooms (session ids) in the path."""
        from bench.loadgen import token  # noqa: F401 - the workers mint; imported for the check

        specs = []
        k = 0
        for groups in self.groups:
            part = []
            for g in groups:
                srv = client_servers[k % len(client_servers)]
                k += 1
                sids = [ln["sid"] for ln in g["lanes"]]
                if kind == "project":
                    m_url = None if mitra_server in (None, self.project) else f"{mitra_server.ws}/ws/mitra/"
                    lanes = [{**ln, "c_url": f"{srv.ws}/ws/client/"} for ln in g["lanes"]]
                elif kind == "node":
                    m_url = f"{srv.ws}/ws/mitra/"
                    lanes = [{**ln, "c_url": f"{srv.ws}/ws/client/"} for ln in g["lanes"]]
                else:
                    m_url = f"{srv.ws}/relay/{','.join(sids)}"
                    lanes = [{**ln, "c_url": f"{srv.ws}/relay/{ln['sid']}"} for ln in g["lanes"]]
                part.append({"muid": g["muid"], "mphone": g["mphone"], "m_url": m_url, "lanes": lanes})
            specs.append(part)
        beat = self.heartbeat_interval if self.heartbeats else None
        res = self.pool.call("chat_open", [{"kind": kind, "groups": part, "conc": 25, "heartbeat": beat}
                                           for part in specs])
        failed = sum(r["failed"] for r in res)
        if failed:
            raise RuntimeError(f"{failed} {kind} mitra groups failed to open: "
                               f"{[e for r in res for e in r['errors']][:2]}")
        self.chat_lanes = [r["lanes"] for r in res]
        if kind == "project" and self.paired_at and time.monotonic() - self.paired_at > 13 * 60:
            self.note("the free-trial sessions were in their last 2 minutes (15-minute trials) during a project "
                      "chat run: `session.ending_soon` / closing frames are part of its traffic")

    def chat_close(self) -> None:
        self.pool.call("chat_close", {})

    def chat_run(self, mode: str, servers, rate: float = 0.0, seconds: float | None = None) -> dict:
        cfg = self.cfg
        seconds = seconds or (cfg["sat_seconds"] if mode == "closed" else cfg["rate_seconds"])
        t0 = mono() + int(0.5e9)
        w0 = t0 + int(cfg["warm"] * 1e9)
        w1 = w0 + int(seconds * 1e9)
        total = sum(self.chat_lanes)
        args = [{"mode": mode, "rate": rate * n / total if total else 0, "window": cfg["window"],
                 "t0": t0, "w0": w0, "w1": w1, "drain": cfg["drain"]}
                for n in self.chat_lanes]
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
        refused: dict[str, int] = {}
        for r in results:
            for code, n in r["refused"].items():
                refused[code] = refused.get(code, 0) + n
        out = {
            "mode": mode, "offered_per_s": rate if mode == "open" else None, "seconds": span,
            "lanes": total, "sent_per_s": sent / span, "delivered_per_s": delivered / span,
            "sent_in_window": sent, "latency_samples": len(lat),
            # Sent in the run (warm-up included) and neither delivered nor refused by the end
            # of the drain: `lost_acked` had been acknowledged (stored), `unanswered` had not.
            "lost": sum(r["undelivered"] for r in results),
            "lost_acked": sum(r["lost_acked"] for r in results),
            "unanswered": sum(r["unanswered"] for r in results),
            "refused": refused, "refused_total": sum(refused.values()),
            "refused_by_side": {side: sum(r["refused_by_side"][side] for r in results) for side in ("client", "mitra")},
            "refused_in_window": sum(r["refused_win"] for r in results),
            "send_errors": sum(r["send_errors"] for r in results),
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
        if mode == "open":
            out["keeps_up"] = self.keeps_up(out)
        return out

    def keeps_up(self, r: dict) -> bool:
        """The target carries this offered rate: delivers ≥ keep_up of it in the window, p99
        within the threshold, nothing acked and lost, refusals ≤ 1% of what was sent."""
        offered = r["offered_per_s"] or 0
        return (r["delivered_per_s"] >= self.cfg["keep_up"] * offered
                and r["p99_ms"] <= self.cfg["p99_ms"]
                and r["lost_acked"] == 0 and r["lost"] <= 0.001 * max(1, r["sent_in_window"])
                and r["refused_in_window"] <= 0.01 * max(1, r["sent_in_window"]))

    def quiet_run(self, label: str, mode: str, servers, repeat: bool = True, **kw) -> dict:
        """A run that is repeated once when other processes took a noticeable share of the
        machine during it (while the run's repeat budget lasts); the less disturbed of the
        two is kept. A run the target did not keep up with is followed by a wait for its
        server(s) to finish the backlog, so the next run starts clean."""
        self.settle()
        r = self.chat_run(mode, servers, **kw)
        if r["foreign_cpu_pct"] > 25 and repeat and self.repeats_left > 0:
            self.repeats_left -= 1
            log(f"  {label}: other processes used {r['foreign_cpu_pct']:.0f}% of a core meanwhile; once more")
            self.wait_servers_quiet(servers)
            self.settle(30.0)
            again = self.chat_run(mode, servers, **kw)
            again["repeated_because_foreign_cpu_pct"] = r["foreign_cpu_pct"]
            if again["foreign_cpu_pct"] < r["foreign_cpu_pct"]:
                r = again
        elif r["foreign_cpu_pct"] > 25 and repeat:
            self.disturbed_not_repeated += 1
        self.describe(label, r)
        if r.get("keeps_up") is False or mode == "closed":
            r["backlog_wait_s"] = self.wait_servers_quiet(servers)
        return r

    def wait_servers_quiet(self, servers, limit: float | None = None) -> float:
        """Wait (up to `limit` s) until the servers spend under 5% of a core for 0.5 s: a
        target that fell behind is still working through queued frames after the drain."""
        limit = self.cfg["drain"] if limit is None else limit
        t = time.monotonic()
        while time.monotonic() - t < limit:
            c0 = sum(s.cpu() for s in servers)
            time.sleep(0.5)
            if (sum(s.cpu() for s in servers) - c0) / 0.5 < 0.05 * len(servers):
                break
        return round(time.monotonic() - t, 1)

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
        verdict = ("" if "keeps_up" not in r else (" — keeps up" if r["keeps_up"] else " — does NOT keep up"))
        log(f"  {label}: {rate}delivered {r['delivered_per_s']:.0f} msg/s, p50 {r['p50_ms']:.1f} "
            f"p95 {r['p95_ms']:.1f} p99 {r['p99_ms']:.1f} ms, server CPU "
            f"{'+'.join(f'{c:.0f}' for c in r['server_cpu_pct'])}% "
            f"({(r['server_cpu_us_per_msg'] or 0):.0f} µs/msg), clients "
            f"{'+'.join(f'{c:.0f}' for c in r['client_cpu_pct'])}%, machine {r['machine_busy_pct']:.0f}%"
            + (f", other processes {r['foreign_cpu_pct']:.0f}%" if r["foreign_cpu_pct"] >= 10 else "")
            + (f", lost {r['lost']} ({r['lost_acked']} acked)" if r.get("lost") else "")
            + (f", refused {r['refused']} (senders: {r['refused_by_side']})" if r["refused_total"] else "") + verdict)

    def chat_suite(self, kind: str, servers, ladder: list[int], search: bool) -> dict:
        """Saturation, then offered rates from the ladder: without `search` every rung; with
        it, a climb from 0.4 x the saturation (see below), one rate between the highest kept
        and the first missed above it, then half and twice the sustained rate (the overload
        run). Sustained = the highest offered rate kept up with."""
        label = TARGET_LABELS[kind]
        out: dict = {"kind": kind, "pairs": sum(len(g["lanes"]) for w in self.groups for g in w),
                     "mitras": sum(len(w) for w in self.groups), "server": "node" if kind == "node" else self.args.server}
        self.chat_open(kind, servers)
        try:
            self.chat_run("open", servers, rate=100, seconds=1.0)  # first-use imports, pools, caches
            # The relays' figures are floors (the load generator shares the machine): their
            # disturbed runs are not repeated, the repeat budget is kept for project and Node.
            repeat = search
            out["saturation"] = self.quiet_run(f"{label} saturation", "closed", servers, repeat=repeat)
            sat = out["saturation"]["delivered_per_s"]
            runs: list[dict] = []
            capped = False

            def at(rate: int, note: str = "") -> dict:
                r = self.quiet_run(f"{label} @{rate}{note}", "open", servers, repeat=repeat, rate=rate)
                runs.append(r)
                return r

            def overloaded(r: dict) -> bool:
                """Clearly past capacity: not a p99 spoiled by another process's burst."""
                return (r["delivered_per_s"] < 0.9 * r["offered_per_s"]
                        or r["refused_in_window"] > 0.05 * max(1, r["sent_in_window"]))

            def climb(rates: list[int]) -> None:
                """Up the ladder: past a miss that only lost on p99, stopping at a clear
                overload, at two misses in a row, or past twice the closed-loop capacity."""
                nonlocal capped
                misses = 0
                for n, rate in enumerate(rates):
                    if n and rate > 2 * sat:
                        capped = True
                        return
                    r = at(rate)
                    misses = 0 if r["keeps_up"] else misses + 1
                    if not r["keeps_up"] and (overloaded(r) or misses >= 2):
                        return

            def kept() -> list[int]:
                return [r["offered_per_s"] for r in runs if r["keeps_up"]]

            if not search:
                for rate in ladder:
                    at(rate)
            else:
                # Start below the closed-loop capacity and climb. Noise on a shared machine only
                # ever makes a run worse, so a rate kept up with is proof and a miss may not be.
                # If nothing was kept, step down instead.
                start = max([x for x in ladder if x <= 0.4 * sat] or [ladder[0]])
                i = ladder.index(start)
                climb(ladder[i:])
                if not kept():
                    for rate in reversed(ladder[:i]):
                        if at(rate)["keeps_up"]:
                            break
                if 100 in ladder and not any(r["offered_per_s"] == 100 for r in runs):
                    at(100)  # every target at 100 msg/s: the rate the issue quotes

            def first_missed_above() -> int | None:
                above = [r["offered_per_s"] for r in runs if not r["keeps_up"]
                         and r["offered_per_s"] > max(kept(), default=0)]
                return min(above) if above else None

            def refine() -> None:
                missed = first_missed_above()
                if search and self.cfg["refine"] and kept() and missed and missed / max(kept()) > 1.2:
                    mid = round_rate(math.sqrt(max(kept()) * missed))
                    if not any(r["offered_per_s"] == mid for r in runs):
                        at(mid, " (between)")

            refine()
            for attempt in range(2):
                sustained = max(kept(), default=None)
                if not (search and sustained):
                    break
                half = round_rate(sustained / 2)
                if not any(abs(r["offered_per_s"] - half) <= 0.15 * half for r in runs):
                    runs.append(self.quiet_run(f"{label} @{half} (half the sustained rate)", "open", servers,
                                               rate=half))
                over = round_rate(2 * sustained)
                same = next((x for x in runs if x["offered_per_s"] == over), None)
                r = (dict(same, reused=True) if same else
                     self.quiet_run(f"{label} @{over} (twice the sustained rate)", "open", servers, rate=over))
                if not r["keeps_up"] or attempt == 1:
                    r["overload"] = True
                    runs.append(r)
                    out["overload"] = r
                    out["half"] = min(runs, key=lambda x: abs(x["offered_per_s"] - half))
                    break
                # It kept up with twice its "sustained" rate: a rung above was missed in a
                # disturbed window. Count this run, climb on from it, and try again (once).
                if not same:
                    runs.append(r)
                log(f"  {label}: kept up with twice its sustained rate ({over}/s): climbing on")
                climb([x for x in ladder if x > over])
                refine()
            sustained = max(kept(), default=None)
            out["sustained"] = {
                "rate": sustained, "p99_threshold_ms": self.cfg["p99_ms"], "keep_up": self.cfg["keep_up"],
                "first_missed": first_missed_above(),
                "bounded_by_ladder": bool(sustained) and first_missed_above() is None and not capped,
                "stopped_at_twice_saturation": capped,
            }
            over_run = out.get("overload")
            if over_run and over_run["keeps_up"]:
                out["sustained"]["floor"] = True
                self.note(f"{label} kept up with twice its sustained rate twice over: its sustained figure "
                          f"({sustained}) is a floor")
            out["rates"] = sorted((r for r in runs if not r.get("overload")), key=lambda x: x["offered_per_s"])
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
        if self.args.tuned:
            skipped = self.stack.platform_settings(TUNED_SETTINGS)
            if skipped:
                self.note(f"platform settings this version does not know were skipped: {sorted(skipped)}")
            self.note("TUNED run (--tuned): one seat per mitra, heartbeats every 600 s, 240-minute trials. "
                      "Not the product's settings; the headline figures are from the default run (latest.*).")
        settings = self.stack.platform_settings_show()
        self.result["meta"]["platform_settings"] = settings
        self.result["meta"]["settings_mode"] = "tuned" if self.args.tuned else "default"
        if not self.args.tuned:
            off = {k: settings.get(k) for k, v in PRODUCT_DEFAULTS.items() if settings.get(k) != v}
            if off:
                self.note(f"platform settings differ from the documented defaults: {off}")
        self.heartbeats = not self.args.tuned
        self.heartbeat_interval = float(settings.get("heartbeat_interval", 30))
        mitras = math.ceil(cfg["pairs"] / self.seats())
        seeded = self.stack.django("seed", {"pair_mitras": mitras, "blast_mitras": cfg["blast_mitras"],
                                            "idle_clients": cfg["idle_sockets"] + 10})
        log(f"setup: seeded {seeded}; platform settings: {self.seats()} seats per mitra, heartbeat every "
            f"{self.heartbeat_interval:g} s, auto-offline after {settings.get('auto_offline_after')} s, "
            f"{settings.get('free_trial_minutes')}-minute free trials")
        self.stack.start_celery()
        self.project = self.stack.server(PROJECT_APP, self.args.server, "project")
        self.relay = self.stack.server(RELAY_APP, self.args.server, "baseline relay")
        node, self.node_why = (None, "--no-node") if self.args.no_node else deps.node_ready(not self.args.no_install)
        if node:
            self.stack.node = node
            self.stack.node_schema()
            self.node = self.stack.server(NODE_APP, "node", "Node reference")
            versions = subprocess.run([node, "-e", "for (const p of ['fastify','@fastify/websocket','ws','pg',"
                                       "'ioredis']) console.log(p + ' ' + require(p + '/package.json').version)"],
                                      cwd=deps.NODE_DIR, capture_output=True, text=True).stdout.split("\n")
            self.result["meta"]["node"] = {
                "version": subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip(),
                "packages": dict(v.split(" ", 1) for v in versions if " " in v)}
        else:
            self.note(f"the Node reference did not run: {self.node_why}")
        log(f"setup: project on :{self.project.port} (pid {self.project.pid}), relay on :{self.relay.port}"
            + (f", Node reference on :{self.node.port} (pid {self.node.pid})" if self.node else "")
            + f", celery worker {self.stack.celery.pid} + beat {self.stack.beat.pid}")

    def phase_pairing(self) -> None:
        from bench.djscript import PAIR_MITRA_PHONE, pair_mitra_uid
        from bench.loadgen import split

        n, seats = self.cfg["pairs"], self.seats()
        groups = [{"muid": pair_mitra_uid(g), "mphone": PAIR_MITRA_PHONE.format(g),
                   "clients": [f"bench-client-{i}" for i in range(g * seats, min(n, (g + 1) * seats))]}
                  for g in range(math.ceil(n / seats))]
        t = time.monotonic()
        res = self.pool.call("pair", [{"http": self.project.http, "ws": self.project.ws, "groups": part,
                                       "lanes": max(1, 8 // len(self.pool)), "heartbeats": self.heartbeats}
                                      for part in split(groups, len(self.pool))])
        seconds = time.monotonic() - t
        self.paired_at = time.monotonic()
        self.groups = [r["groups"] for r in res]
        told = [r["heartbeat_interval"] for r in res if r["heartbeat_interval"]]
        if told:
            self.heartbeat_interval = max(told)
        pairs = sum(len(g["lanes"]) for w in self.groups for g in w)
        failed = sum(r["failed"] for r in res)
        self.result["pairing"] = {"pairs": pairs, "mitras": sum(len(w) for w in self.groups), "seats": seats,
                                  "failed_groups": failed, "seconds": seconds, "pairs_per_s": pairs / seconds,
                                  "heartbeats": self.heartbeats, "heartbeat_interval_s": self.heartbeat_interval,
                                  "errors": [e for r in res for e in r["errors"]][:3]}
        log(f"pairing: {pairs} pairs with {self.result['pairing']['mitras']} mitras ({seats} seats each) over the "
            f"API in {seconds:.1f} s ({pairs / seconds:.1f} pairs/s), {failed} groups failed; mitra sockets "
            + (f"heartbeat every {self.heartbeat_interval:g} s" if self.heartbeats else "do not heartbeat (tuned)"))
        if pairs < n:
            raise RuntimeError(f"pairing failed: {self.result['pairing']['errors']}")
        if self.node:
            self.stack.node_seed([g for w in self.groups for g in w])

    def phase_chat(self) -> None:
        cfg = self.cfg
        pairs = self.result["pairing"]["pairs"]
        log(f"chat: bare relay, {pairs} pairs")
        self.result["chat"]["relay"] = self.chat_suite("relay", [self.relay], cfg["relay_ladder"], search=False)
        if self.node:
            log(f"chat: Node reference (Fastify + pg + ioredis), {pairs} pairs")
            self.result["chat"]["node"] = self.chat_suite("node", [self.node], cfg["ladder"], search=True)
        log(f"chat: project, {pairs} pairs")
        self.result["chat"]["project"] = self.chat_suite("project", [self.project], cfg["ladder"], search=True)
        if cfg["channels"]:
            log(f"chat: reference — the relay as a Channels consumer over the same channel layer, {pairs} pairs")
            chan = self.stack.server(CHANNELS_RELAY_APP, self.args.server, "channels relay")
            try:
                self.result["chat"]["channels"] = self.chat_suite("channels", [chan], [], search=False)
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

    def idle_test(self, app: str, label: str, sockets: int, auth: bool, path: str, kind: str | None = None) -> dict:
        """Open `sockets` idle sockets on a fresh server process and read its RSS."""
        from bench.djscript import idle_client_uid
        from bench.loadgen import split

        server = self.stack.server(app, kind or self.args.server, label)
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
            stale = self.stale_registry() if auth and app == PROJECT_APP else None
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
        idle socket has closed: each one makes `has_live_socket` skip a push for up to its TTL.
        Only client groups count: the pair mitras' sockets are still open on the main server."""
        import redis

        time.sleep(3.0)
        r = redis.Redis.from_url(self.stack.redis_url)
        now = time.time()
        left = 0
        for key in r.scan_iter(match=f"{self.stack.prefix}:sockets:client.*", count=1000):
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

    def phase_profile(self) -> None:
        seconds = int(self.cfg["profile_seconds"])
        log(f"profile: py-spy on the project server during a {seconds} s saturation run")
        self.chat_open("project", [self.project])
        try:
            with self.spy(self.project, seconds + 1, "chat", f"chat saturation, {self.result['pairing']['pairs']} "
                          "pairs") as extra:
                r = self.chat_run("closed", [self.project], seconds=seconds - self.cfg["warm"])
                extra["delivered_per_s"] = r["delivered_per_s"]
        finally:
            self.chat_close()

    def phase_memory(self) -> None:
        n = self.cfg["idle_sockets"]
        log(f"memory: {n} idle sockets on a fresh server process each")
        mem = {"project": self.idle_test(PROJECT_APP, "project (authenticated client sockets)", n, True, "/ws/client/")}
        if self.node:
            self.stack.node_seed_idle(n + 10)
            mem["node"] = self.idle_test(NODE_APP, "Node reference (authenticated client sockets)", n, True,
                                         "/ws/client/", kind="node")
        mem["relay"] = self.idle_test(RELAY_APP, "bare relay (unauthenticated)", n, False, "/relay/idle-{}")
        self.result["memory"] = mem

    def connect_test(self, server, label: str, prefix: str) -> dict:
        from bench.loadgen import split

        n = self.cfg["connect_users"]
        uids = [f"{prefix}-{i}" for i in range(n)]
        t0 = mono() + int(0.3e9)
        before = self.cpu_sample([server])
        res = self.pool.call("connrate", [{"http": server.http, "ws_url": server.ws + "/ws/client/",
                                           "uids": part, "conc": 32 // len(self.pool), "t0": t0}
                                          for part in split(uids, len(self.pool))])
        after = self.cpu_sample([server])
        t_end = max(r["t_end"] for r in res)
        durations = sorted(d for r in res for d in r["durations"])
        seconds = (t_end - t0) / 1e9
        d = self.cpu_delta(before, after)
        c = {"users": n, "ok": len(durations), "failed": sum(r["failed"] for r in res), "seconds": seconds,
             "per_s": len(durations) / seconds, "p50_ms": pct(durations, 50), "p95_ms": pct(durations, 95),
             "p99_ms": pct(durations, 99), "concurrency": 32,
             "server_cpu_ms_per_connect": sum(d["servers"]) * 1e3 / max(1, len(durations)),
             "postgres_cpu_ms_per_connect": d["postgres"] * 1e3 / max(1, len(durations)),
             "server_cpu_pct": 100 * sum(d["servers"]) / seconds,
             "client_cpu_pct": [100 * x / seconds for x in d["clients"]],
             "machine_busy_pct": 100 * d["machine_busy"] / d["machine_total"] if d["machine_total"] else None,
             "errors": [e for r in res for e in r["errors"]][:3]}
        log(f"  {label}: {c['ok']} connected in {seconds:.1f} s = {c['per_s']:.0f}/s, p50 {c['p50_ms']:.0f} ms, "
            f"p95 {c['p95_ms']:.0f} ms, server {c['server_cpu_ms_per_connect']:.1f} ms CPU each "
            f"({c['server_cpu_pct']:.0f}% of a core), clients {'+'.join(f'{x:.0f}' for x in c['client_cpu_pct'])}%"
            + (f", {c['failed']} failed: {c['errors'][:1]}" if c["failed"] else ""))
        return c

    def phase_connect(self) -> None:
        from bench.loadgen import split

        n = self.cfg["connect_users"]
        log(f"connect: {n} new users (sign-in POST + socket + auth.ok), 32 at a time")
        self.result["connect"] = self.connect_test(self.project, "project", "bench-new")
        if self.node:
            self.result["connect_node"] = self.connect_test(self.node, "Node reference", "bench-new-node")
        if self.wanted("profile"):
            seconds = self.result["connect"]["seconds"]
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
        pairs = self.result["pairing"]["pairs"]
        log(f"scale-out: 2 project processes, {pairs} pairs: mitra sockets on one, client sockets on the other")
        second = self.stack.server(PROJECT_APP, self.args.server, "project #2")
        relay2 = self.stack.server(RELAY_APP, self.args.server, "relay #2")
        out: dict = {}
        try:
            self.chat_open("project", [second], self.project)
            try:
                self.chat_run("open", [self.project, second], rate=100, seconds=1.0)
                out["project_two"] = self.quiet_run("project x2 saturation", "closed", [self.project, second])
            finally:
                self.chat_close()
            # The one-process figure again, right after, with the same sockets.
            self.chat_open("project", [self.project])
            try:
                out["project_one"] = self.quiet_run("project x1 saturation", "closed", [self.project])
            finally:
                self.chat_close()
            self.chat_open("relay", [self.relay, relay2])
            try:
                out["baseline_two"] = self.quiet_run("relay x2 saturation", "closed", [self.relay, relay2])
            finally:
                self.chat_close()
            self.chat_open("relay", [self.relay])
            try:
                out["baseline_one"] = self.quiet_run("relay x1 saturation", "closed", [self.relay])
            finally:
                self.chat_close()
            if cpucap.available():
                # The same comparison with each project process capped to the same CPU share.
                share = CAPPED_SHARE
                out["capped_share"] = share
                with cpucap.capped([self.project.pid, second.pid], share):
                    self.chat_open("project", [second], self.project)
                    try:
                        self.chat_run("open", [self.project, second], rate=100, seconds=1.0)
                        out["capped_two"] = self.quiet_run(f"project x2 saturation, each capped at {share:.0%} of a core",
                                                           "closed", [self.project, second])
                    finally:
                        self.chat_close()
                    self.chat_open("project", [self.project])
                    try:
                        out["capped_one"] = self.quiet_run(f"project x1 saturation, capped at {share:.0%} of a core",
                                                           "closed", [self.project])
                    finally:
                        self.chat_close()
                out["capped_ratio"] = out["capped_two"]["delivered_per_s"] / out["capped_one"]["delivered_per_s"]
            else:
                out["capped_note"] = "no writable cgroup cpu controller: the capped comparison did not run"
        finally:
            second.stop()
            relay2.stop()
        out["pairs"] = pairs
        out["project_ratio"] = out["project_two"]["delivered_per_s"] / out["project_one"]["delivered_per_s"]
        out["baseline_ratio"] = out["baseline_two"]["delivered_per_s"] / out["baseline_one"]["delivered_per_s"]
        one, two = out["project_one"], out["project_two"]
        if one["server_cpu_us_per_msg"] and two["server_cpu_us_per_msg"]:
            out["project_cpu_per_msg_ratio"] = two["server_cpu_us_per_msg"] / one["server_cpu_us_per_msg"]
        log(f"  scale-out: project x{out['project_ratio']:.2f}, relay x{out['baseline_ratio']:.2f}"
            + (f"; capped at {out['capped_share']:.0%} of a core each: project x{out['capped_ratio']:.2f}"
               if "capped_ratio" in out else f"; {out.get('capped_note', '')}"))
        self.result["scaleout"] = out

    def phase_servers(self) -> None:
        kinds = [k for k in ("uvicorn", "uvicorn-websockets", "uvicorn-wsproto", "daphne") if k != self.args.server]
        out = {}
        for kind in kinds:
            log(f"servers: {kind}")
            proj = self.stack.server(PROJECT_APP, kind, f"project ({kind})")
            relay = self.stack.server(RELAY_APP, kind, f"relay ({kind})")
            entry = {}
            try:
                for label, k, srv in (("baseline", "relay", relay), ("project", "project", proj)):
                    # Both sides on the server under test (the mitras' home sockets stay open too).
                    self.chat_open(k, [srv], srv)
                    try:
                        self.chat_run("open", [srv], rate=100, seconds=1.0)
                        sat = self.quiet_run(f"{kind} {label} saturation", "closed", [srv])
                        at = (self.quiet_run(f"{kind} {label} @300", "open", [srv], rate=300)
                              if 300 <= 1.3 * sat["delivered_per_s"] else None)
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
        if self.node:
            self.result["db"]["node"] = self.stack.node_rows()

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

        from bench.stack import RAISED_THROTTLES, machine_cpu

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
            "raised_throttles": dict(RAISED_THROTTLES),
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
                    t = time.monotonic()
                    getattr(self, f"phase_{name}")()
                    self.result.setdefault("phase_seconds", {})[name] = round(time.monotonic() - t, 1)
            self.client_stats()
            if self.disturbed_not_repeated:
                self.note(f"{self.disturbed_not_repeated} runs were disturbed by other processes (> 25% of a core) "
                          "and not repeated (repeat budget spent): the machine was busy")
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

    def client_stats(self) -> None:
        """Heartbeats the mitra sockets sent and the answers they got, and whether every
        pair mitra's socket stayed open for the whole run."""
        stats = self.pool.call("stats", {})
        beats = {k: sum(s["beats"][k] for s in stats) for k in ("sent", "acked", "errors")}
        self.result["heartbeats"] = {
            "enabled": self.heartbeats, "interval_s": self.heartbeat_interval, **beats,
            "home_sockets": sum(s["home"] for s in stats), "home_sockets_open": sum(s["home_open"] for s in stats),
            "stray_errors": sum(s["stray_errors"] for s in stats),
        }
        h = self.result["heartbeats"]
        log(f"heartbeats: {h['sent']} sent, {h['acked']} acked, {h['errors']} refused; "
            f"{h['home_sockets_open']}/{h['home_sockets']} pair mitra sockets open at the end")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="reduced run (~3 minutes), e.g. for a CI smoke")
    parser.add_argument("--tuned", action="store_true",
                        help="the old tuned platform settings (1 seat per mitra, heartbeats off, 240-minute trials): "
                        "NOT the product; results go to tuned.*")
    parser.add_argument("--sockets", type=int, help="idle sockets held by one process (default 5000; 300 quick)")
    parser.add_argument("--pairs", type=int, help="chat pairs (default 200; 40 quick)")
    parser.add_argument("--rates", help="the offered-rate ladder, msg/s, comma-separated "
                        f"(default {','.join(map(str, FULL['ladder']))})")
    parser.add_argument("--p99-ms", type=float, help="p99 threshold of the sustained rate (default 100 ms)")
    parser.add_argument("--server", default="uvicorn",
                        choices=["uvicorn", "uvicorn-websockets", "uvicorn-wsproto", "daphne"],
                        help="server stack for the main figures (default: uvicorn with websockets-sansio, "
                             "as in production)")
    parser.add_argument("--compare-servers", action="store_true",
                        help="also measure uvicorn's deprecated websockets implementation, wsproto and daphne")
    parser.add_argument("--no-node", action="store_true", help="skip the Node reference server")
    parser.add_argument("--client-procs", type=int, default=2, help="bench client processes (default 2)")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile")
    parser.add_argument("--no-install", action="store_true",
                        help="do not install missing bench packages (pip, npm ci); only say so")
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
