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

TARGETS_DOC = "issue 8; 2 cores, every process on one machine"


def _f(value, digits: int = 0, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}{unit}"


def _lat(r: dict | None) -> str:
    if not r:
        return "—"
    if r.get("skipped"):
        return "not run: over saturation"
    if r.get("offered_per_s") and r["delivered_per_s"] < 0.9 * r["offered_per_s"]:
        return (f"{_f(r['p50_ms'], 1)} / {_f(r['p95_ms'], 1)} / {_f(r['p99_ms'], 1)} "
                f"(overloaded: {_f(r['delivered_per_s'])}/s delivered)")
    return f"{_f(r['p50_ms'], 1)} / {_f(r['p95_ms'], 1)} / {_f(r['p99_ms'], 1)}"


def _ran(r: dict | None) -> bool:
    return bool(r) and not r.get("skipped") and bool(r.get("server_cpu_us_per_msg"))


def _at(suite: dict | None, rate: int) -> dict | None:
    if not suite:
        return None
    return next((r for r in suite.get("rates", []) if r["offered_per_s"] == rate), None)


def targets(res: dict) -> list[dict]:
    chat = res.get("chat", {})
    proj, base = chat.get("project"), chat.get("baseline")
    out = []

    def add(name, goal, value, met, gap, measured=True):
        out.append({"target": name, "goal": goal, "measured": value, "met": met if measured else None, "gap": gap})

    if proj and base:
        ps, bs = proj["saturation"]["delivered_per_s"], base["saturation"]["delivered_per_s"]
        ratio = ps / bs if bs else 0
        add("persisted chat vs bare relay (saturation)", "≥ 50%", f"{100 * ratio:.0f}% ({ps:.0f} vs {bs:.0f} msg/s)",
            ratio >= 0.5, "" if ratio >= 0.5 else f"needs {0.5 * bs:.0f} msg/s: x{0.5 * bs / ps:.2f} to go")
        at300 = _at(proj, 300)
        if at300 and at300.get("skipped"):
            add("p99 delivery at 300 msg/s", "< 50 ms", f"not reachable: saturates at {ps:.0f} msg/s", False,
                f"x{300 / ps:.1f} the throughput needed first")
        elif at300:
            p99 = at300["p99_ms"]
            ok = p99 < 50 and not at300.get("lost")
            add("p99 delivery at 300 msg/s", "< 50 ms", f"{p99:.1f} ms" + (f", {at300['lost']} lost" if at300.get("lost") else ""),
                ok, "" if ok else f"{p99 - 50:+.0f} ms")
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
            add("5,000 sockets held by one process", "no errors", f"not run ({held}); use --sockets 5000", None,
                "", measured=False)
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
        add("2 processes vs 1 (saturation)", "≥ 1.6x", f"x{r:.2f} (baseline x{so['baseline_ratio']:.2f})", r >= 1.6,
            "" if r >= 1.6 else f"x{1.6 / r:.2f} short")
    return out


def markdown(res: dict) -> str:
    meta = res.get("meta", {})
    m = meta.get("machine", {})
    chat = res.get("chat", {})
    proj, base = chat.get("project"), chat.get("baseline")
    lines = [
        "# Halo Bestie benchmark — " + (f"what-if `{meta['whatif']}` (bench/whatif_settings.py)"
                                         if meta.get("whatif") else "latest result"),
        "",
        f"`{meta.get('command', 'python -m bench')}` · {meta.get('date', '')} · commit `{meta.get('commit', '')}` · "
        f"{meta.get('mode', '')} run in {_f(meta.get('seconds'), 0)} s"
        + (f" (uncommitted changes measured too: {', '.join(meta['uncommitted'])})" if meta.get("uncommitted") else ""),
        "",
        f"Machine: {m.get('cores')} cores ({m.get('cpu', '')}), {m.get('memory_gib')} GiB, Python {m.get('python')}; "
        f"{m.get('busy_before_start_pct')}% busy before start. **Everything shares those 2 cores**: the server "
        f"process(es), PostgreSQL, Redis, the Celery worker and {meta.get('client_processes')} bench client "
        "processes (asyncio + websockets).",
        "",
        f"Server: `{meta.get('server')}` — {SERVER_FLAGS.get(meta.get('server'), meta.get('server'))}, "
        "`--ws-per-message-deflate false`, "
        "`--lifespan off`, `--log-level warning`; Django settings with DEBUG off, PostgreSQL + "
        "RedisPubSubChannelLayer + Redis cache + a Celery worker. Baseline: `bench/relay.py`, a bare relay "
        "(no auth, no database, no channel layer) on the same server and flags.",
        "",
    ]
    if res.get("error"):
        lines += [f"**The run stopped early:** `{res['error']}`", ""]
    head_at = len(lines)
    lines += ["## Headline", "", "| figure | project | baseline (bare relay) | project / baseline |", "|---|---|---|---|"]
    if proj and base:
        ps, bs = proj["saturation"], base["saturation"]
        lines.append(f"| saturation throughput, msg/s delivered end to end ({proj['pairs']} pairs, closed loop) | "
                     f"{_f(ps['delivered_per_s'])} | {_f(bs['delivered_per_s'])} | "
                     f"{_f(100 * ps['delivered_per_s'] / bs['delivered_per_s'], 0)}% |")
        for rate in (100, 300, 500):
            pr, br = _at(proj, rate), _at(base, rate)
            if pr or br:
                lines.append(f"| p50 / p95 / p99 delivery at {rate} msg/s (ms) | {_lat(pr)} | {_lat(br)} | |")
        common = [rate for rate in (300, 200, 100, 500) if _ran(_at(proj, rate)) and _ran(_at(base, rate))]
        if common:
            rate = common[0]
            pr, br = _at(proj, rate), _at(base, rate)
            lines.append(f"| server CPU per message at {rate} msg/s (µs) | {_f(pr['server_cpu_us_per_msg'])} | "
                         f"{_f(br['server_cpu_us_per_msg'])} | x{_f(pr['server_cpu_us_per_msg'] / br['server_cpu_us_per_msg'], 1)} |")
            lines.append(f"| whole stack CPU per message at {rate} msg/s: server + PostgreSQL + Redis + Celery (µs) | "
                         f"{_f(pr['stack_cpu_us_per_msg'])} | {_f(br['stack_cpu_us_per_msg'])} | |")
    mem = res.get("memory") or {}
    if mem.get("project"):
        mp, mb = mem["project"], mem.get("baseline") or {}
        lines.append(f"| memory per idle socket, RSS delta over {mp['sockets']} sockets (KiB) | "
                     f"{_f(mp['kib_per_socket'], 1)} | {_f(mb.get('kib_per_socket'), 1)} | |")
        lines.append(f"| idle sockets held by one process | {mp['still_open_after']}/{mp['sockets']} | "
                     f"{mb.get('still_open_after', '—')}/{mb.get('sockets', '—')} | |")
    c = res.get("connect")
    if c:
        lines.append(f"| new connections per second (sign-in POST + socket + auth.ok, {c['concurrency']} at a time) | "
                     f"{_f(c['per_s'])} (p95 {_f(c['p95_ms'])} ms) | — | |")
    b = res.get("blast")
    if b and b.get("runs"):
        lines.append(f"| pairing blast to {b['sockets']} online mitras: POST → last `pairing.offer` (ms, median) | "
                     f"{_f(b['last_ms_median'])} | — | |")
    so = res.get("scaleout")
    if so:
        lines.append(f"| 2 processes vs 1, saturation msg/s | {_f(so['project_one']['delivered_per_s'])} → "
                     f"{_f(so['project_two']['delivered_per_s'])} (x{so['project_ratio']:.2f}) | "
                     f"{_f(so['baseline_one']['delivered_per_s'])} → {_f(so['baseline_two']['delivered_per_s'])} "
                     f"(x{so['baseline_ratio']:.2f}) | |")
    if len(lines) == head_at + 4:  # no figure in this run (e.g. --only servers)
        del lines[head_at:]
    chan = chat.get("channels")
    if proj and base and chan:
        bsat = base["saturation"]
        lines += ["", "## Where the gap is", "",
                  "The same traffic through three servers on the same stack: the bare relay, the relay written as a "
                  "Channels consumer over the project's channel layer (RedisPubSubChannelLayer; no auth, no "
                  "database; `bench/channels_relay.py`), and the project.", "",
                  "| server | saturation msg/s | server CPU per message at saturation (µs) | p99 @300 msg/s (ms) | "
                  "throughput vs bare relay |", "|---|---|---|---|---|"]
        for label, suite in (("bare relay (`bench/relay.py`)", base),
                             ("Channels relay + Redis pub/sub (`bench/channels_relay.py`)", chan),
                             ("project (auth, PostgreSQL, the project's code)", proj)):
            sat = suite["saturation"]
            at = _at(suite, 300)
            lines.append(f"| {label} | {_f(sat['delivered_per_s'])} | {_f(sat['server_cpu_us_per_msg'])} | "
                         f"{_lat(at).split(' / ')[-1] if at else '—'} | "
                         f"{_f(100 * sat['delivered_per_s'] / bsat['delivered_per_s'], 1)}% |")
    if res.get("targets"):
        lines += ["", f"## Targets ({TARGETS_DOC})", "", "| target | goal | measured | met | gap |", "|---|---|---|---|---|"]
    for t in res.get("targets", []):
        met = "—" if t["met"] is None else ("✅ met" if t["met"] else "❌ missed")
        lines.append(f"| {t['target']} | {t['goal']} | {t['measured']} | {met} | {t['gap']} |")
    if proj or base:
        lines += ["", "## Latency at fixed offered rates (open loop)", "",
                  "Each socket of every pair sends in turn on a fixed schedule, whatever the replies; latency is "
                  "send → the peer's receipt of `message.new` (project) or of the relayed frame (baseline).", "",
                  "| target | offered msg/s | delivered msg/s | p50 ms | p95 ms | p99 ms | max ms | lost | server CPU % "
                  "| µs/msg server | µs/msg stack | PG % | Redis % | clients % | machine % | other processes % |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for label, suite in (("project", proj), ("baseline", base), ("channels relay", chat.get("channels"))):
            if not suite:
                continue
            for r in [suite["saturation"], *suite.get("rates", [])]:
                offered = "saturation" if r["mode"] == "closed" else _f(r["offered_per_s"])
                if r.get("skipped"):
                    lines.append(f"| {label} | {offered} | not run: {r['reason']} |" + " |" * 13)
                    continue
                lines.append(
                    f"| {label} | {offered} | {_f(r['delivered_per_s'])} | {_f(r['p50_ms'], 1)} | {_f(r['p95_ms'], 1)} | "
                    f"{_f(r['p99_ms'], 1)} | {_f(r['max_ms'], 0)} | {r['lost'] if r['lost'] is not None else '—'} | "
                    f"{'+'.join(f'{c:.0f}' for c in r['server_cpu_pct'])} | {_f(r['server_cpu_us_per_msg'])} | "
                    f"{_f(r['stack_cpu_us_per_msg'])} | {_f(r['postgres_cpu_pct'])} | {_f(r['redis_cpu_pct'])} | "
                    f"{'+'.join(f'{c:.0f}' for c in r['client_cpu_pct'])} | {_f(r['machine_busy_pct'])} | "
                    f"{_f(r.get('foreign_cpu_pct'))} |")
        lines += ["", "Saturation: every socket keeps "
                  f"{meta.get('config', {}).get('window', 2)} messages in flight and sends the next one when its "
                  "peer has received one (closed loop). CPU columns are % of one core over the measured window; "
                  "`machine` is both cores together as % of the whole machine; kernel time is part of the server's CPU "
                  f"(project saturation: {_f((proj or {}).get('saturation', {}).get('server_sys_share_pct'))}% of it, "
                  f"baseline: {_f((base or {}).get('saturation', {}).get('server_sys_share_pct'))}%); `other processes` is what the machine "
                  "spent outside the bench's own processes (including other databases' PostgreSQL backends), in % of one core — a run disturbed "
                  "by more than 25% is repeated once and the quieter one kept."]
        errors = [(label, r) for label, s in (("project", proj), ("baseline", base)) if s
                  for r in [s["saturation"], *s.get("rates", [])] if r.get("errors") or r.get("send_errors")]
        for label, r in errors[:3]:
            lines.append(f"- {label} {r['mode']} {r['offered_per_s'] or ''}: {r['errors']} error frames, "
                         f"{r['send_errors']} send errors, e.g. `{(r['error_samples'] or [''])[0][:160]}`")
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
        lines.append("")
        lines.append("Each figure is from a fresh server process (warmed with 10 sockets), RSS read 2 s after the "
                     "last socket authenticated; project sockets are already-registered clients authenticating "
                     "with the `Authorization` header (token check, client lookup, group subscribe, registry). "
                     "`registry entries left after close`: live entries in the socket registry "
                     "(`halobestie/sockets/registry.py`) 3 s after every socket closed — should be 0; each one makes "
                     "`has_live_socket` skip a push for up to its TTL.")
    if b and b.get("runs"):
        lines += ["", "## Pairing blast", "", f"{b['mitras_online']} mitras online (REST `PUT presence`), "
                  f"{b['sockets']} with a live `/ws/mitra/` socket. A client POSTs a free-trial request; timed from "
                  "just before the POST to each `pairing.offer` frame.", "",
                  "| run | offers delivered | POST answered ms | first offer ms | median ms | last offer ms |",
                  "|---|---|---|---|---|---|"]
        for i, r in enumerate(b["runs"], 1):
            lines.append(f"| {i} | {r['delivered']}/{r['mitras']} | {_f(r['post_ms'])} | {_f(r['first_ms'])} | "
                         f"{_f(r['median_ms'])} | {_f(r['last_ms'])} |")
    if c:
        lines += ["", "## Connection rate", "", f"{c['ok']} new users ({c['failed']} failed) in {_f(c['seconds'], 1)} s: "
                  f"**{_f(c['per_s'])}/s**; per user p50 {_f(c['p50_ms'])} ms, p95 {_f(c['p95_ms'])} ms, "
                  f"p99 {_f(c['p99_ms'])} ms; server CPU {_f(c['server_cpu_ms_per_connect'], 1)} ms per new user "
                  "(sign-in creates the client row; the socket verifies the token and looks the client up)."]
    p = res.get("pairing")
    if p:
        lines += ["", f"Pairing setup over the API: {p['pairs']} pairs in {_f(p['seconds'], 1)} s "
                  f"({_f(p['pairs_per_s'], 1)} pairs/s, 5 requests each: two sign-ins, presence online, "
                  "pairing request (a blast), accept)."]
    if so:
        lines += ["", "## Scale-out (2 server processes)", "",
                  "Project: two uvicorn processes on two ports; every pair's client socket is on one process and "
                  "its mitra socket on the other, so every message crosses processes through Redis. Baseline: "
                  "two relay processes, each pair on one of them (a bare relay cannot cross processes).", "",
                  "| run | pairs | msg/s | p99 ms | server CPU % | clients % | machine % |", "|---|---|---|---|---|---|---|"]
        for key, label in (("project_one", "project, 1 process"), ("project_two", "project, 2 processes"),
                           ("project_two_300", "project, 2 processes @300/s"),
                           ("baseline_one", "baseline, 1 process"), ("baseline_two", "baseline, 2 processes")):
            r = so.get(key)
            if r:
                lines.append(f"| {label} | {res.get('meta', {}).get('config', {}).get('pairs', 0) * 2} | "
                             f"{_f(r['delivered_per_s'])} | {_f(r['p99_ms'], 1)} | "
                             f"{'+'.join(f'{x:.0f}' for x in r['server_cpu_pct'])} | "
                             f"{'+'.join(f'{x:.0f}' for x in r['client_cpu_pct'])} | {_f(r['machine_busy_pct'])} |")
    sv = res.get("servers")
    if sv:
        lines += ["", "## Server stacks (--compare-servers)", "",
                  "| server | target | saturation msg/s | µs/msg server at saturation | p99 @300 ms | µs/msg server @300 "
                  "| other processes % (saturation / @300) |", "|---|---|---|---|---|---|---|"]
        rows = {meta.get("server", "uvicorn"): {"baseline": {"saturation": base["saturation"], "at_300": _at(base, 300)},
                                                 "project": {"saturation": proj["saturation"], "at_300": _at(proj, 300)}}
                } if proj and base else {}
        rows.update(sv)
        for kind, entry in rows.items():
            for label in ("project", "baseline"):
                e = entry.get(label)
                if e:
                    at = e["at_300"] or {}
                    lines.append(f"| {kind} | {label} | {_f(e['saturation']['delivered_per_s'])} | "
                                 f"{_f(e['saturation']['server_cpu_us_per_msg'])} | {_f(at.get('p99_ms'), 1)} | "
                                 f"{_f(at.get('server_cpu_us_per_msg'))} | "
                                 f"{_f(e['saturation'].get('foreign_cpu_pct'))} / {_f(at.get('foreign_cpu_pct'))} |")
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
    db = res.get("db")
    if db:
        lines += ["", f"Database after the run: {db['messages']} messages stored in {db['sessions']} sessions."]
    if res.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in res["notes"]]
    return "\n".join(lines) + "\n"


def chart(res: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    chat = res.get("chat", {})
    if not chat.get("project") and not chat.get("baseline"):
        return False
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    styles = {"project": ("-", "o"), "baseline": ("--", "s")}
    colors = {"p50": "#2a7ab0", "p95": "#e08b1a", "p99": "#c0392b"}
    notes: list[str] = []
    for label, suite in (("project", chat.get("project")), ("baseline", chat.get("baseline"))):
        if not suite:
            continue
        runs = [r for r in suite["rates"] if not r.get("skipped")]
        rates = [r["offered_per_s"] for r in runs] or [0]
        for q in ("p50", "p95", "p99"):
            ys = [r[f"{q}_ms"] for r in runs]
            if not ys:
                continue
            ls, mk = styles[label]
            ax.plot(rates, ys, ls, marker=mk, color=colors[q], label=f"{label} {q}",
                    alpha=1.0 if label == "project" else 0.7)
        sat = suite["saturation"]["delivered_per_s"]
        if sat <= 1.15 * max(rates):
            ax.axvline(sat, color="#555" if label == "project" else "#aaa", ls=styles[label][0], lw=0.8)
            ax.annotate(f"{label} saturation {sat:.0f}/s", (sat, 0.02), xycoords=("data", "axes fraction"),
                        rotation=90, fontsize=8, color="#444", ha="right", va="bottom")
        else:
            notes.append(f"{label} saturation: {sat:,.0f} msg/s (off the chart)")
    if notes:
        ax.text(0.99, 0.98, "\n".join(notes), transform=ax.transAxes, ha="right", va="top", fontsize=8,
                color="#333", bbox={"boxstyle": "round", "fc": "white", "ec": "#ccc"})
    ax.axhline(50, color="#888", ls=":", lw=1)
    ax.annotate("50 ms target (p99 @300)", (0.01, 50), xycoords=("axes fraction", "data"), fontsize=8,
                color="#666", va="bottom")
    ax.set_yscale("log")
    ax.set_xlabel("offered rate (messages/s, open loop)")
    ax.set_ylabel("delivery latency, send → peer receive (ms, log)")
    meta = res.get("meta", {})
    ax.set_title(f"Halo Bestie chat vs bare relay — {meta.get('server', '')}, "
                 f"{meta.get('machine', {}).get('cores')} cores, {meta.get('date', '')[:10]}")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, ncol=2)
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
