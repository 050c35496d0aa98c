"""Write latest.json, latest.md (Markdown tables) and latency.png from one bench result."""

from __future__ import annotations

import json
import math
from pathlib import Path

SERVER_FLAGS = {
    "uvicorn": "uvicorn `--ws websockets-sansio` (production)",
    "uvicorn-websockets": "uvicorn `--ws websockets` (deprecated)",
    "uvicorn-wsproto": "uvicorn `--ws wsproto`",
    "daphne": "daphne",
}

TARGETS_DOC = "issue 14; one run, 2 cores, every process on one machine"
TARGETS = (("project", "project"), ("node", "Node reference"), ("relay", "bare relay"))


def _f(value, digits: int = 0, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}{unit}"


def _pcts(r: dict | None) -> str:
    if not r:
        return "—"
    return f"{_f(r['p50_ms'], 1)} / {_f(r['p95_ms'], 1)} / {_f(r['p99_ms'], 1)}"


def _ratio(a, b, pct: bool = True) -> str:
    if not a or not b:
        return "—"
    if pct:
        return f"{100 * a / b:.1f}%" if a / b < 0.1 else f"{100 * a / b:.0f}%"
    return f"x{a / b:.2f}"


def _at(suite: dict | None, rate: float) -> dict | None:
    if not suite:
        return None
    return next((r for r in suite.get("rates", []) if r["offered_per_s"] == rate), None)


def sustained(suite: dict | None) -> float | None:
    return ((suite or {}).get("sustained") or {}).get("rate")


def relay_bound(suite: dict | None) -> bool:
    """A relay whose closed-loop saturation is far above the rate it missed: what stopped
    it was the load generator and the shared machine, not the relay."""
    s = (suite or {}).get("sustained") or {}
    sat = (suite or {}).get("saturation", {}).get("delivered_per_s") or 0
    return suite is not None and suite.get("kind") in ("relay", "channels") and sat > 2 * (s.get("rate") or 0)


def _sustained_text(suite: dict | None) -> str:
    if not suite:
        return "—"
    s = suite.get("sustained") or {}
    if relay_bound(suite) and s.get("rate"):
        return (f"≥ {_f(s['rate'])} (the load generator's limit here; its saturation is "
                f"{_f(suite['saturation']['delivered_per_s'])})")
    if s.get("rate") is None:
        first = suite["rates"][0]["offered_per_s"] if suite.get("rates") else None
        return f"< {_f(first)} (missed the first rung)" if first else "—"
    if s.get("bounded_by_ladder"):
        return f"≥ {_f(s['rate'])} (kept up with the whole ladder)"
    if s.get("stopped_at_twice_saturation"):
        return f"≥ {_f(s['rate'])} (next rung over 2 x its saturation)"
    if s.get("floor"):
        return f"≥ **{_f(s['rate'])}** (twice it was carried too: a floor)"
    return f"**{_f(s['rate'])}**" + (f" (missed {_f(s['first_missed'])})" if s.get("first_missed") else "")


def _common_rate(chat: dict) -> float | None:
    """The highest offered rate every target that ran kept up with (for CPU per message)."""
    suites = [chat[k] for k, _ in TARGETS if chat.get(k)]
    if not suites:
        return None
    ok = [{r["offered_per_s"] for r in s.get("rates", []) if r.get("keeps_up")} for s in suites]
    common = set.intersection(*ok) if ok else set()
    return max(common) if common else None


def _all_runs(suite: dict | None) -> list[dict]:
    if not suite:
        return []
    runs = [suite["saturation"], *suite.get("rates", [])]
    if suite.get("overload"):
        runs.append(suite["overload"])
    return runs


def targets(res: dict) -> list[dict]:
    chat = res.get("chat", {})
    proj, node = chat.get("project"), chat.get("node")
    out = []

    def add(name, goal, value, met, gap=""):
        out.append({"target": name, "goal": goal, "measured": value, "met": met, "gap": gap})

    ps, ns = sustained(proj), sustained(node)
    if proj:
        if ns:
            ratio = (ps or 0) / ns
            add("sustained persisted throughput vs the Node reference (same run)", "≥ 50% (stretch: parity)",
                f"{100 * ratio:.0f}% ({_f(ps)} vs {_f(ns)} msg/s)", ratio >= 0.5,
                "" if ratio >= 0.5 else f"needs {_f(0.5 * ns)} msg/s: x{0.5 * ns / ps:.1f} to go" if ps else "")
        add("sustained persisted throughput", "≥ 1,000 msg/s", f"{_f(ps)} msg/s", bool(ps and ps >= 1000),
            "" if ps and ps >= 1000 else (f"x{1000 / ps:.1f} to go" if ps else ""))
        half = proj.get("half")
        if half:
            add(f"p99 delivery at half the sustained rate ({_f(half['offered_per_s'])} msg/s)", "< 50 ms",
                f"{_f(half['p99_ms'], 1)} ms", half["p99_ms"] < 50 and not half["lost_acked"],
                "" if half["p99_ms"] < 50 else f"{half['p99_ms'] - 50:+.0f} ms")
        over = proj.get("overload")
        if over and ps:
            carried = over["delivered_per_s"]
            throttled = over["refused"].get("throttled", 0)
            other = over["refused_total"] - throttled
            # "The rest refused": of what was sent in the window and not delivered in it, the
            # share answered `throttled` (the rest queued).
            rest = max(0.0, over["sent_in_window"] - carried * over["seconds"])
            refused_share = min(1.0, over["refused_in_window"] / rest) if rest >= 1 else 1.0
            ok = (carried >= 0.9 * ps and over["lost_acked"] == 0 and not other and refused_share >= 0.8
                  and over["p99_ms"] < 1000)
            if proj["sustained"].get("floor"):
                ok = None  # twice the (underestimated) sustained rate was carried: not an overload
            add(f"offered twice the sustained rate ({_f(over['offered_per_s'])} msg/s)",
                "≥ 90% of sustained delivered, the rest refused `throttled` (not queued: p99 < 1 s), "
                "nothing acked and lost",
                f"{_f(carried)} msg/s delivered ({_f(100 * carried / ps)}% of sustained), p99 {_f(over['p99_ms'])} ms; "
                f"{throttled} throttled = {_f(100 * refused_share)}% of the rest; {over['lost_acked']} acked and lost, "
                f"{over['unanswered']} unanswered after the drain" + (f", {other} other refusals" if other else ""), ok,
                "" if ok or ok is None else "queued instead of refused" if refused_share < 0.8 else "")
    c = res.get("connect")
    if c:
        add("new authenticated connections per second, one process", "≥ 500/s",
            f"{_f(c['per_s'])}/s" + (f" (Node reference {_f(res['connect_node']['per_s'])}/s)"
                                     if res.get("connect_node") else ""),
            c["per_s"] >= 500, "" if c["per_s"] >= 500 else f"x{500 / c['per_s']:.1f} to go")
    mem = (res.get("memory") or {}).get("project")
    if mem:
        kib = mem["kib_per_socket"]
        add("memory per idle authenticated socket", "≤ 64 KiB", f"{kib:.1f} KiB", kib <= 64,
            "" if kib <= 64 else f"{kib - 64:+.1f} KiB")
        n = mem["sockets"]
        ok = mem["opened"] == n and mem["still_open_after"] == n and not mem["failed"]
        held = f"{mem['opened']}/{n} opened, {mem['still_open_after']} still open"
        if n >= 5000:
            add("5,000 sockets held by one process", "no errors", held, ok, "" if ok else f"{mem['failed']} failed")
        else:
            add("5,000 sockets held by one process", "no errors", f"not run ({held}); use --sockets 5000", None)
    blast = res.get("blast")
    if blast and blast.get("runs"):
        last = blast["last_ms_median"]
        ok = last is not None and last < 250 and blast["all_delivered"]
        delivered = min(r["delivered"] for r in blast["runs"])
        add(f"blast to {blast['sockets']} online mitras (last socket)", "< 250 ms",
            f"{_f(last, 0)} ms (median of {len(blast['runs'])}), ≥ {delivered}/{blast['sockets']} delivered",
            ok, "" if ok else (f"{last - 250:+.0f} ms" if last else "") +
            ("" if blast["all_delivered"] else "; offers missing"))
    so = res.get("scaleout")
    if so:
        r = so["project_ratio"]
        if "capped_ratio" in so:
            c = so["capped_ratio"]
            add(f"2 processes vs 1 (saturation), each process capped at {so['capped_share']:.0%} of a core", "≥ 1.6x",
                f"x{c:.2f} ({_f(so['capped_one']['delivered_per_s'])} → {_f(so['capped_two']['delivered_per_s'])} "
                f"msg/s); uncapped x{r:.2f}, bare relay x{so['baseline_ratio']:.2f}", c >= 1.6,
                "" if c >= 1.6 else f"x{1.6 / c:.2f} short")
        else:
            add("2 processes vs 1 (saturation; not CPU-capped here)", "≥ 1.6x",
                f"x{r:.2f} (bare relay x{so['baseline_ratio']:.2f})", r >= 1.6, "" if r >= 1.6 else f"x{1.6 / r:.2f} short")
        cpu = so.get("project_cpu_per_msg_ratio")
        if cpu:
            add("2 processes: server CPU per message vs 1 process", "within 10%", f"x{cpu:.2f}", cpu <= 1.10)
    return out


def _settings_line(meta: dict) -> list[str]:
    s = meta.get("platform_settings") or {}
    if not s:
        return []
    keys = ("max_customers_per_mitra", "heartbeat_interval", "auto_offline_after", "free_trial_minutes",
            "pairing_timeout", "mitra_grace_period")
    values = ", ".join(f"`{k}={s.get(k)}`" for k in keys if k in s)
    thr = ", ".join(f"`{k}={v}`" for k, v in (meta.get("raised_throttles") or {}).items())
    if meta.get("settings_mode") == "tuned":
        head = ("**TUNED RUN — NOT THE PRODUCT** (`--tuned`): one seat per mitra, heartbeats practically off, "
                f"240-minute trials ({values}). The product's figures are in `latest.md`.")
    else:
        head = (f"**Platform settings: the defaults, as shipped** ({values}): pair mitras hold 3 sessions each, "
                "their sockets send `presence.heartbeat` every `heartbeat_interval`, Celery worker **and beat** run "
                "(the sweep: auto-offline, grace periods, session timers).")
    return [head, "",
            f"Throttles: the defaults (pairing requests 20/min per user, REST messages 120/min per user, the socket's "
            f"flood control of 20 frames/s per socket) except {thr or 'none'} — sign-in is limited per *address* "
            "(30/min) and every bench user comes from 127.0.0.1.", ""]


def markdown(res: dict) -> str:
    meta = res.get("meta", {})
    m = meta.get("machine", {})
    chat = res.get("chat", {})
    proj, node, relay = chat.get("project"), chat.get("node"), chat.get("relay")
    cfg = meta.get("config", {})
    nodemeta = meta.get("node") or {}
    title = ("what-if `" + meta["whatif"] + "` (bench/whatif_settings.py)" if meta.get("whatif")
             else "TUNED settings (not the product)" if meta.get("settings_mode") == "tuned"
             else "quick run (a smoke test, not the figures)" if meta.get("mode") == "quick" else "latest result")
    lines = [
        f"# Halo Bestie benchmark — {title}",
        "",
        f"`{meta.get('command', 'python -m bench')}` · {meta.get('date', '')} · commit `{meta.get('commit', '')}` · "
        f"{meta.get('mode', '')} run in {_f(meta.get('seconds'), 0)} s"
        + (f" (uncommitted changes measured too: {', '.join(meta['uncommitted'])})" if meta.get("uncommitted") else ""),
        "",
        f"Machine: {m.get('cores')} cores ({m.get('cpu', '')}), {m.get('memory_gib')} GiB, Python {m.get('python')}; "
        f"{m.get('busy_before_start_pct')}% busy before start. **Everything shares those 2 cores**: the server "
        f"process(es), PostgreSQL, Redis, the Celery worker and beat, and {meta.get('client_processes')} bench "
        "client processes (asyncio + websockets).",
        "",
        *_settings_line(meta),
        "Three targets, one load generator, the same frames (`message.send` with a `ref`): **project** — "
        f"`halobestie.asgi` under uvicorn (`{meta.get('server')}`, `--ws-per-message-deflate false`), DEBUG off, "
        "PostgreSQL + the project's channel layer (channels_redis pub/sub, publishes coalesced: halobestie/sockets/layer.py) + Redis cache; **Node reference** — `bench/node_baseline/server.js`, "
        "what the original system does per message: Fastify"
        + (f" {nodemeta.get('packages', {}).get('fastify', '')}" if nodemeta else "")
        + " + @fastify/websocket (ws), node-postgres `INSERT … RETURNING`, ioredis `PUBLISH` to the recipient, a "
        "subscriber forwarding to the recipient's socket, `ack` to the sender"
        + (f" (Node {nodemeta.get('version')})" if nodemeta else "")
        + "; **bare relay** — `bench/relay.py` under the same uvicorn: forwards the frame, nothing else.",
        "",
    ]
    if res.get("error"):
        lines += [f"**The run stopped early:** `{res['error']}`", ""]
    p = res.get("pairing") or {}
    lines += ["## Headline", "",
              f"{p.get('pairs', '?')} pairs: {p.get('pairs', '?')} client sockets and {p.get('mitras', '?')} mitra "
              f"sockets ({p.get('seats', '?')} sessions per mitra). Sustained = the highest offered rate (open loop) "
              f"at which ≥ {_f(100 * cfg.get('keep_up', 0.97))}% is delivered in the window, p99 ≤ "
              f"{_f(cfg.get('p99_ms'))} ms, nothing acked and lost, ≤ 1% refused.", "",
              "| figure | project | Node reference | bare relay | project / Node | project / relay |",
              "|---|---|---|---|---|---|"]
    ps, ns, rs = sustained(proj), sustained(node), sustained(relay)
    lines.append(f"| sustained msg/s (delivered end to end) | {_sustained_text(proj)} | {_sustained_text(node)} | "
                 f"{_sustained_text(relay)} | {_ratio(ps, ns)} | "
                 f"{'≤ ' + _ratio(ps, rs) if relay_bound(relay) else _ratio(ps, rs)} |")

    def sat(s):
        return (s or {}).get("saturation", {}).get("delivered_per_s")

    lines.append(f"| saturation msg/s (closed loop: one message in flight per direction of every session) | "
                 f"{_f(sat(proj))} | {_f(sat(node))} | {_f(sat(relay))} | {_ratio(sat(proj), sat(node))} | "
                 f"{_ratio(sat(proj), sat(relay))} |")
    for label, key in (("p50 / p95 / p99 ms at half its own sustained rate", "half"),):
        cells = []
        for s in (proj, node, relay):
            r = (s or {}).get(key)
            cells.append(f"{_pcts(r)} @{_f(r['offered_per_s'])}" if r else "—")
        lines.append(f"| {label} | {' | '.join(cells)} | | |")
    over_cells = []
    for s in (proj, node):
        o = (s or {}).get("overload")
        over_cells.append(f"{_f(o['delivered_per_s'])}/s delivered of {_f(o['offered_per_s'])}, "
                          f"{o['refused'].get('throttled', 0)} throttled, {o['lost_acked']} acked+lost, "
                          f"{o['unanswered']} unanswered, p99 {_f(o['p99_ms'])} ms" if o else "—")
    lines.append(f"| offered twice its sustained rate | {over_cells[0]} | {over_cells[1]} | — | | |")
    rate = _common_rate(chat)
    if rate:
        rows = [_at(s, rate) for s in (proj, node, relay)]
        srv = [r["server_cpu_us_per_msg"] if r else None for r in rows]
        stk = [r["stack_cpu_us_per_msg"] if r else None for r in rows]
        lines.append(f"| server CPU per message at {_f(rate)} msg/s (µs) | {_f(srv[0])} | {_f(srv[1])} | {_f(srv[2])} | "
                     f"{_ratio(srv[0], srv[1], pct=False)} | {_ratio(srv[0], srv[2], pct=False)} |")
    sat_cpu = [((s or {}).get("saturation") or {}).get("server_cpu_us_per_msg") for s in (proj, node, relay)]
    if any(sat_cpu):
        lines.append(f"| server CPU per message at saturation (µs) | {_f(sat_cpu[0])} | {_f(sat_cpu[1])} | "
                     f"{_f(sat_cpu[2])} | {_ratio(sat_cpu[0], sat_cpu[1], pct=False)} | "
                     f"{_ratio(sat_cpu[0], sat_cpu[2], pct=False)} |")
        stk = [((s or {}).get("saturation") or {}).get("stack_cpu_us_per_msg") for s in (proj, node, relay)]
        lines.append(f"| whole stack per message at saturation: server + PostgreSQL + Redis + Celery (µs) | "
                     f"{_f(stk[0])} | {_f(stk[1])} | {_f(stk[2])} | {_ratio(stk[0], stk[1], pct=False)} | |")
    lost = []
    for s in (proj, node, relay):
        runs = _all_runs(s)
        lost.append(f"{sum(r['lost_acked'] for r in runs)} acked / {sum(r['lost'] for r in runs)} in all"
                    if runs else "—")
    lines.append(f"| messages not delivered by the end of a run's drain, all runs (acked first) | {lost[0]} | {lost[1]} | "
                 f"{lost[2]} | | |")
    c, cn = res.get("connect"), res.get("connect_node")
    if c:
        lines.append(f"| new connections per second (sign-in POST + socket + `auth.ok`, 32 at a time) | "
                     f"{_f(c['per_s'])} (p95 {_f(c['p95_ms'])} ms) | "
                     f"{_f(cn['per_s']) + ' (p95 ' + _f(cn['p95_ms']) + ' ms)' if cn else '—'} | — | "
                     f"{_ratio(c['per_s'], (cn or {}).get('per_s'))} | |")
    mem = res.get("memory") or {}
    if mem.get("project"):
        mp, mn, mb = mem["project"], mem.get("node") or {}, mem.get("relay") or {}
        lines.append(f"| memory per idle socket, {mp['sockets']} sockets (KiB) | {_f(mp['kib_per_socket'], 1)} | "
                     f"{_f(mn.get('kib_per_socket'), 1)} | {_f(mb.get('kib_per_socket'), 1)} | | |")
    b = res.get("blast")
    if b and b.get("runs"):
        lines.append(f"| pairing blast to {b['sockets']} online mitras: POST → last `pairing.offer` (ms, median) | "
                     f"{_f(b['last_ms_median'])} | — | — | | |")
    so = res.get("scaleout")
    if so:
        lines.append(f"| 2 processes vs 1, saturation msg/s | {_f(so['project_one']['delivered_per_s'])} → "
                     f"{_f(so['project_two']['delivered_per_s'])} (x{so['project_ratio']:.2f}) | — | "
                     f"{_f(so['baseline_one']['delivered_per_s'])} → {_f(so['baseline_two']['delivered_per_s'])} "
                     f"(x{so['baseline_ratio']:.2f}) | | |")
    if res.get("targets"):
        lines += ["", f"## Targets ({TARGETS_DOC})", "", "| target | goal | measured | met | gap |",
                  "|---|---|---|---|---|"]
        for t in res["targets"]:
            met = "—" if t["met"] is None else ("✅ met" if t["met"] else "❌ missed")
            lines.append(f"| {t['target']} | {t['goal']} | {t['measured']} | {met} | {t['gap']} |")
    lines += _latency_tables(res)
    lines += _gap_table(chat)
    lines += _rest(res)
    return "\n".join(lines) + "\n"


def _latency_tables(res: dict) -> list[str]:
    chat = res.get("chat", {})
    suites = [(k, label, chat[k]) for k, label in (*TARGETS, ("channels", "Channels relay")) if chat.get(k)]
    if not suites:
        return []
    meta = res.get("meta", {})
    rates = sorted({r["offered_per_s"] for _, _, s in suites for r in s.get("rates", [])})
    lines = ["", "## Latency per offered rate (open loop)", "",
             "The sockets send in turn on a fixed schedule, whatever the replies; latency is send → the peer's "
             "receipt of `message.new` (project, Node) or of the relayed frame (relay). Cell: delivered msg/s · "
             "p50 / p95 / p99 ms; ✗ = did not keep up; blank = not run (the climb starts at 0.4 x the target's "
             "closed-loop saturation and stops at the first rate it misses).", "",
             "| offered msg/s | " + " | ".join(label for _, label, _ in suites[:3]) + " |",
             "|---|" + "---|" * len(suites[:3])]
    for rate in rates:
        cells = []
        for _, _, s in suites[:3]:
            r = _at(s, rate)
            cells.append("" if not r else f"{_f(r['delivered_per_s'])} · {_pcts(r)}" + ("" if r["keeps_up"] else " ✗"))
        lines.append(f"| {_f(rate)} | " + " | ".join(cells) + " |")
    over = [(label, s["overload"]) for _, label, s in suites if s.get("overload")]
    for label, o in over:
        lines.append(f"| {_f(o['offered_per_s'])} (2 x {label}'s sustained) | " + " | ".join(
            (f"{_f(o['delivered_per_s'])} · {_pcts(o)}; {o['refused_total']} refused, {o['lost']} not delivered"
             if lbl == label else "") for _, lbl, _ in suites[:3]) + " |")
    lines += ["", "All runs (CPU columns: % of one core over the measured window; `machine`: both cores as % of the "
              "machine; `other` = CPU outside the bench's own processes, % of one core — a run disturbed by more than "
              "25% is repeated once and the quieter kept):", "",
              "| target | offered msg/s | delivered msg/s | p50 ms | p95 ms | p99 ms | max ms | keeps up | refused | "
              "not delivered (acked) | server CPU % | µs/msg server | µs/msg stack | PG % | Redis % | clients % | "
              "machine % | other % |", "|---|" + "---|" * 17]
    for _, label, s in suites:
        for r in _all_runs(s):
            offered = ("saturation" if r["mode"] == "closed"
                       else _f(r["offered_per_s"]) + (" (overload)" if r.get("overload") else ""))
            ku = "—" if "keeps_up" not in r else ("yes" if r["keeps_up"] else "no")
            lines.append(
                f"| {label} | {offered} | {_f(r['delivered_per_s'])} | {_f(r['p50_ms'], 1)} | {_f(r['p95_ms'], 1)} | "
                f"{_f(r['p99_ms'], 1)} | {_f(r['max_ms'], 0)} | {ku} | "
                f"{', '.join(f'{k} {v}' for k, v in r['refused'].items()) or 0} | {r['lost']} ({r['lost_acked']}) | "
                f"{'+'.join(f'{c:.0f}' for c in r['server_cpu_pct'])} | {_f(r['server_cpu_us_per_msg'])} | "
                f"{_f(r['stack_cpu_us_per_msg'])} | {_f(r['postgres_cpu_pct'])} | {_f(r['redis_cpu_pct'])} | "
                f"{'+'.join(f'{c:.0f}' for c in r['client_cpu_pct'])} | {_f(r['machine_busy_pct'])} | "
                f"{_f(r.get('foreign_cpu_pct'))} |")
    lines += ["", f"Saturation: every direction of every session keeps {meta.get('config', {}).get('window', 1)} "
              "message in flight and sends the next when the peer has received it (closed loop). `not delivered`: "
              "sent in the run and neither received nor refused when the drain ended (no progress for 5 s, or "
              f"{_f(meta.get('config', {}).get('drain'))} s); in brackets those the server had acknowledged — stored "
              "and then lost on the way."]
    samples = [(label, r) for _, label, s in suites for r in _all_runs(s) if r.get("error_samples")]
    for label, r in samples[:3]:
        lines.append(f"- {label} {r['mode']} {r['offered_per_s'] or ''}: e.g. `{r['error_samples'][0][:200]}`")
    return lines


def _gap_table(chat: dict) -> list[str]:
    relay, chan, node, proj = chat.get("relay"), chat.get("channels"), chat.get("node"), chat.get("project")
    if not (relay and proj):
        return []
    rows = [("bare relay (`bench/relay.py`)", relay),
            ("Channels relay + Redis pub/sub, no auth/DB (`bench/channels_relay.py`)", chan),
            ("Node reference: Fastify + pg INSERT + ioredis PUBLISH (`bench/node_baseline/`)", node),
            ("project (auth, PostgreSQL, the project's code)", proj)]
    lines = ["", "## Where the gap is", "", "The same lanes and frames through each server; saturation (closed loop).",
             "", "| server | saturation msg/s | server CPU per message (µs) | kernel share of server CPU | "
             "vs bare relay |", "|---|---|---|---|---|"]
    base = relay["saturation"]["delivered_per_s"]
    for label, s in rows:
        if not s:
            continue
        sat = s["saturation"]
        lines.append(f"| {label} | {_f(sat['delivered_per_s'])} | {_f(sat['server_cpu_us_per_msg'])} | "
                     f"{_f(sat.get('server_sys_share_pct'))}% | {_f(100 * sat['delivered_per_s'] / base, 1)}% |")
    return lines


def _rest(res: dict) -> list[str]:
    lines: list[str] = []
    mem = res.get("memory") or {}
    if mem:
        lines += ["", "## Idle sockets", "", "| server | sockets | opened | failed | still open | open time s | "
                  "RSS before MiB | RSS after MiB | KiB/socket | idle CPU % | registry entries left after close |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for label, r in mem.items():
            lines.append(f"| {label} | {r['sockets']} | {r['opened']} | {r['failed']} | {r['still_open_after']} | "
                         f"{_f(r['open_seconds'], 1)} | {_f(r['rss_before_mib'], 1)} | {_f(r['rss_after_mib'], 1)} | "
                         f"{_f(r['kib_per_socket'], 1)} | {_f(r['idle_cpu_pct'], 1)} | "
                         f"{_f(r.get('registry_entries_left_after_close'))} |")
            if r.get("errors"):
                lines.append(f"\n{label}: failures, e.g. `{r['errors'][0]}`\n")
        lines += ["", "Each figure is from a fresh server process (warmed with 10 sockets), RSS read 2 s after the "
                  "last socket authenticated; project and Node sockets are already-registered clients authenticating "
                  "with the `Authorization` header. `registry entries left after close` (project): live entries in "
                  "the socket registry 3 s after every socket closed — should be 0."]
    b = res.get("blast")
    if b and b.get("runs"):
        lines += ["", "## Pairing blast", "", f"{b['mitras_online']} mitras online (REST `PUT presence`), "
                  f"{b['sockets']} with a live `/ws/mitra/` socket. A client POSTs a free-trial request; timed from "
                  "just before the POST to each `pairing.offer` frame. (The pair mitras are online too, but full: "
                  "3 live sessions each, so they get no offer.)", "",
                  "| run | offers delivered | POST answered ms | first offer ms | median ms | last offer ms |",
                  "|---|---|---|---|---|---|"]
        for i, r in enumerate(b["runs"], 1):
            lines.append(f"| {i} | {r['delivered']}/{r['mitras']} | {_f(r['post_ms'])} | {_f(r['first_ms'])} | "
                         f"{_f(r['median_ms'])} | {_f(r['last_ms'])} |")
    for key, label in (("connect", "project"), ("connect_node", "Node reference")):
        c = res.get(key)
        if c:
            if key == "connect":
                lines += ["", "## Connection rate", ""]
            lines.append(f"- {label}: {c['ok']} new users ({c['failed']} failed) in {_f(c['seconds'], 1)} s: "
                         f"**{_f(c['per_s'])}/s**; per user p50 {_f(c['p50_ms'])} ms, p95 {_f(c['p95_ms'])} ms, "
                         f"p99 {_f(c['p99_ms'])} ms; server CPU {_f(c['server_cpu_ms_per_connect'], 1)} ms and "
                         f"PostgreSQL {_f(c.get('postgres_cpu_ms_per_connect'), 1)} ms per new user; server "
                         f"{_f(c.get('server_cpu_pct'))}% of a core, bench clients "
                         f"{'+'.join(f'{x:.0f}' for x in c.get('client_cpu_pct', []))}%"
                         + (" — the load generator was near its limit: a floor"
                            if sum(c.get("client_cpu_pct", [])) > 80 else "") + ".")
    if res.get("connect"):
        lines.append("\nPer new user: `POST /api/client/auth/session` (creates the user), a socket with that token "
                     "(`Authorization` header), wait for `auth.ok`; 32 users in flight at a time.")
    p = res.get("pairing")
    if p:
        lines += ["", "## Pairing and presence", "",
                  f"Setup over the project's API: {p['pairs']} pairs with {p['mitras']} mitras ({p['seats']} seats "
                  f"each) in {_f(p['seconds'], 1)} s ({_f(p['pairs_per_s'], 1)} pairs/s). Per mitra: sign-in, "
                  "`PUT presence` online, its socket (kept open for the whole run); then per client of that mitra: "
                  "sign-in, free-trial pairing request (a blast to every available mitra), the mitra accepts."]
    h = res.get("heartbeats")
    if h:
        lines.append(f"\nHeartbeats: {'every ' + _f(h['interval_s']) + ' s per mitra socket' if h['enabled'] else 'off (tuned)'}"
                     f"; {h['sent']} sent, {h['acked']} acked, {h['errors']} refused; {h['home_sockets_open']}/"
                     f"{h['home_sockets']} pair mitra sockets still open at the end.")
    db = res.get("db")
    if db:
        ev = db.get("session_events") or {}
        lines.append(f"\nDatabase after the run: {db['messages']} project messages in {db['sessions']} sessions "
                     f"(by state: {db.get('sessions_by_state')}); pair mitras set auto-offline: "
                     f"{db.get('pair_mitras_auto_offline')}; grace/reroute events: {ev or 'none'}"
                     + (f"; Node reference tables: {db['node']}" if db.get("node") else "") + ".")
    so = res.get("scaleout")
    if so:
        lines += ["", "## Scale-out (2 server processes)", "",
                  "Project: two uvicorn processes; the mitra sockets on one, the client sockets on the other, so "
                  "every message crosses processes through Redis. Relay: two relay processes, each mitra group on "
                  "one of them (a bare relay cannot cross processes). Uncapped, both processes share the "
                  "machine's 2 cores with everything else; the capped runs put each project process in a cgroup "
                  "with the same CPU quota (bench/cpucap.py), so the second process adds its own share.", "",
                  "| run | pairs | msg/s | p99 ms | server CPU % | µs/msg server | clients % | machine % |",
                  "|---|---|---|---|---|---|---|---|"]
        capped = f", capped at {so['capped_share']:.0%} of a core each" if "capped_share" in so else ""
        for key, label in (("project_one", "project, 1 process"), ("project_two", "project, 2 processes"),
                           ("capped_one", f"project, 1 process{capped}"), ("capped_two", f"project, 2 processes{capped}"),
                           ("baseline_one", "relay, 1 process"), ("baseline_two", "relay, 2 processes")):
            r = so.get(key)
            if r:
                lines.append(f"| {label} | {so.get('pairs', '')} | {_f(r['delivered_per_s'])} | {_f(r['p99_ms'], 1)} | "
                             f"{'+'.join(f'{x:.0f}' for x in r['server_cpu_pct'])} | {_f(r['server_cpu_us_per_msg'])} | "
                             f"{'+'.join(f'{x:.0f}' for x in r['client_cpu_pct'])} | {_f(r['machine_busy_pct'])} |")
    sv = res.get("servers")
    if sv:
        lines += ["", "## Server stacks (--compare-servers)", "",
                  "| server | target | saturation msg/s | µs/msg server at saturation | p99 @300 ms | µs/msg server @300 "
                  "|", "|---|---|---|---|---|---|"]
        for kind, entry in sv.items():
            for label in ("project", "baseline"):
                e = entry.get(label)
                if e:
                    at = e["at_300"] or {}
                    lines.append(f"| {kind} | {label} | {_f(e['saturation']['delivered_per_s'])} | "
                                 f"{_f(e['saturation']['server_cpu_us_per_msg'])} | {_f(at.get('p99_ms'), 1)} | "
                                 f"{_f(at.get('server_cpu_us_per_msg'))} |")
    for name, prof in (res.get("profiles") or {}).items():
        if not prof.get("samples"):
            if prof.get("error"):
                lines += ["", f"Profile `{name}` failed: {prof['error']}"]
            continue
        rate = ""
        if prof.get("delivered_per_s"):
            rate = f" while delivering {_f(prof['delivered_per_s'])} msg/s"
        elif prof.get("per_s"):
            rate = f" ({_f(prof['per_s'])} new users/s)"
        elif prof.get("last_ms"):
            rate = f" (last offer after {_f(prof['last_ms'])} ms)"
        lines += ["", f"## Where the project server's CPU goes: {prof.get('what', name)} (py-spy)", "",
                  f"{prof['samples']} samples of the thread holding the GIL (`py-spy record --gil`: CPU spent "
                  f"running Python) at {prof['rate_hz']} Hz over {prof['seconds']} s{rate}; a separate run from "
                  f"the measured ones. Full listing: `bench/results/profile_{name}.txt`.", "",
                  "| thread | share of samples | holds the GIL (% of wall time) |", "|---|---|---|"]
        for t in prof["threads"][:5]:
            lines.append(f"| {t['thread']} (x{t['count']}) | {t['pct_of_samples']:.1f}% | {_f(t['busy_pct_of_one_core'])} |")
        lines += ["", "| category (first matching rule) | share |", "|---|---|"]
        lines += [f"| {c['category']} | {c['pct']:.1f}% |" for c in prof["categories"] if c["pct"] >= 0.5]
        lines += ["", "<details><summary>Top frames (inclusive)</summary>", "", "```"]
        lines += [f"{f['pct']:5.1f}%  {f['frame']}" for f in prof["top_inclusive"]]
        lines += ["```", "", "</details>"]
    ex = res.get("explain")
    if ex and ex.get("operations"):
        lines += ["", "## Hot queries", "",
                  f"Captured from the real service calls (rolled back) on the bench database after the run "
                  f"({_f(ex.get('table_rows', {}).get('chat_message'))} messages; the session used has "
                  f"{ex.get('session_messages')}). Plans are `EXPLAIN (ANALYZE, BUFFERS)` in a rolled-back "
                  "transaction.", "", "| operation | queries | note |", "|---|---|---|"]
        for op in ex["operations"]:
            lines.append(f"| {op['name']} | {op['queries']} | {op['note']}{' — ' + op['error'] if op.get('error') else ''} |")
        for op in ex["operations"]:
            lines += ["", f"### {op['name']}", ""]
            for st in op["statements"]:
                sql = st["sql"]
                if len(sql) > 1200:
                    sql = sql[:1200] + " …"
                lines += ["```sql", sql, "```", "```", st["plan"], "```"]
        if ex.get("indexes"):
            lines += ["", "Indexes on the hot tables (scans since the database was created by this run):", "",
                      "| table | index | scans | size KiB |", "|---|---|---|---|"]
            for i in ex["indexes"]:
                lines.append(f"| {i['table']} | {i['index']} | {i['scans']} | {i['bytes'] // 1024} |")
    slog = res.get("server_log")
    if slog:
        lines += ["", "## Server log (warnings and errors, all server processes of the run)", "",
                  "| count | line |", "|---|---|"]
        lines += [f"| {n} | `{line.replace('|', '/')}` |" for line, n in slog.items()]
    if res.get("phase_seconds"):
        lines += ["", "Phase durations (s): " + ", ".join(f"{k} {v:g}" for k, v in res["phase_seconds"].items())]
    if res.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in res["notes"]]
    return lines


def chart(res: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    chat = res.get("chat", {})
    suites = [(label, chat[k]) for k, label in TARGETS if chat.get(k)]
    if not suites:
        return False
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    colors = {"project": "#c0392b", "Node reference": "#2a7ab0", "bare relay": "#7f8c8d"}
    for label, suite in suites:
        runs = sorted([r for r in suite.get("rates", []) + ([suite["overload"]] if suite.get("overload") else [])],
                      key=lambda r: r["offered_per_s"])
        if not runs:
            continue
        xs = [r["offered_per_s"] for r in runs]
        ax.plot(xs, [r["p99_ms"] for r in runs], "-", marker="o", color=colors[label], label=f"{label} p99")
        ax.plot(xs, [r["p50_ms"] for r in runs], ":", marker=".", color=colors[label], label=f"{label} p50",
                alpha=0.7)
        s = sustained(suite)
        if s:
            ax.axvline(s, color=colors[label], ls="--", lw=0.8)
            ax.annotate(f"{label} sustained {s:,.0f}/s", (s, 0.02), xycoords=("data", "axes fraction"),
                        rotation=90, fontsize=8, color=colors[label], ha="right", va="bottom")
    p99 = res.get("meta", {}).get("config", {}).get("p99_ms")
    if p99:
        ax.axhline(p99, color="#888", ls=":", lw=1)
        ax.annotate(f"{p99:g} ms: the sustained-rate threshold", (0.01, p99), xycoords=("axes fraction", "data"),
                    fontsize=8, color="#666", va="bottom")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("offered rate (messages/s, open loop)")
    ax.set_ylabel("delivery latency, send → peer receive (ms, log)")
    meta = res.get("meta", {})
    mode = "TUNED (not the product)" if meta.get("settings_mode") == "tuned" else "default settings"
    ax.set_title(f"Halo Bestie vs the original stack (Node) vs a bare relay — {mode}, "
                 f"{meta.get('machine', {}).get('cores')} cores, {meta.get('date', '')[:10]}", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def write(res: dict, outdir: Path, stem: str = "latest") -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    res["targets"] = targets(res)
    paths = [outdir / f"{stem}.json", outdir / f"{stem}.md"]
    paths[0].write_text(json.dumps(res, indent=1, default=str) + "\n")
    paths[1].write_text(markdown(res))
    png = outdir / ("latency.png" if stem == "latest" else f"latency-{stem}.png")
    if chart(res, png):
        paths.append(png)
    return paths
