"""Summarise a py-spy `record --format raw --threads --gil` recording.

With `--gil` a sample is taken only of the thread holding the GIL, so the samples are the
process's CPU time running Python (plus C code that keeps the GIL), attributed by thread.

Each line is `thread (tid): name;frame;frame;... count`, a frame `func (path:line)`.
The summary: how busy each thread was, where the CPU goes by category (each sample goes to
the first matching rule, checked in order over the whole stack), and the top functions
inclusive and self.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?):(?P<line>\d+)\)$")

# (category, predicate over the list of (func, file) from root to leaf); first match wins.
CATEGORIES: list[tuple[str, object]] = []


def _any(stack, files=(), funcs=()):
    for func, file in stack:
        if any(f in file for f in files) and (not funcs or any(func.endswith(fn) for fn in funcs)):
            return True
        if not files and any(func.endswith(fn) for fn in funcs):
            return True
    return False


def _rule(name):
    def deco(fn):
        CATEGORIES.append((name, fn))
        return fn
    return deco


@_rule("PostgreSQL: open a new connection (connect + auth + session setup)")
def _c_connect(s):
    return _any(s, ("django/db/backends/base/base.py",), ("connect", "ensure_connection")) \
        or _any(s, ("psycopg/connection.py",), ("connect",))


@_rule("PostgreSQL: close the connection")
def _c_close(s):
    return _any(s, ("django/db/",), ("close_old_connections", "close_if_unusable_or_obsolete")) \
        or _any(s, ("django/db/backends/base/base.py",), ("BaseDatabaseWrapper.close", "_close"))


@_rule("Firebase ID-token verification")
def _c_token(s):
    return _any(s, ("firebase_admin/", "google/auth/", "jwt/"))


@_rule("SQL round trips (psycopg execute/fetch, commit)")
def _c_sql(s):
    return _any(s, ("psycopg/",))


@_rule("ORM: building and compiling queries, model instances")
def _c_orm(s):
    return _any(s, ("django/db/",))


@_rule("Channel layer and Redis (publish, subscribe, receive)")
def _c_redis(s):
    return _any(s, ("channels_redis/", "redis/", "msgpack"))


@_rule("asgiref thread hops (sync_to_async / async_to_sync)")
def _c_asgiref(s):
    return _any(s, ("asgiref/sync.py", "asgiref/current_thread_executor.py", "concurrent/futures/"))


@_rule("Django HTTP + DRF (REST requests)")
def _c_http(s):
    return _any(s, ("rest_framework/", "django/core/handlers/", "django/middleware/", "whitenoise/"))


@_rule("WebSocket protocol and transport (server side)")
def _c_ws(s):
    return _any(s, ("websockets/", "wsproto/", "uvicorn/protocols/", "daphne/", "autobahn/", "twisted/"))


@_rule("JSON encode/decode")
def _c_json(s):
    return _any(s, ("json/",))


@_rule("Channels consumer plumbing (dispatch, queues)")
def _c_channels(s):
    return _any(s, ("channels/",))


@_rule("Project code (own frames)")
def _c_project(s):
    return _any(s, ("halobestie/", "chat/", "pairing/", "accounts/", "notifications/", "billing/"))


@_rule("asyncio / event loop")
def _c_loop(s):
    return _any(s, ("asyncio/", "uvloop"))


def _parse(line: str):
    line = line.rstrip("\n")
    if not line:
        return None
    stack_text, _, count = line.rpartition(" ")
    parts = stack_text.split(";")
    thread = parts[0]
    frames = []
    for part in parts[1:]:
        m = _FRAME.match(part)
        if m:
            file = m["file"]
            for marker in ("site-packages/", "lib/python3.12/", "/work/main/", "/main/"):
                if marker in file:
                    file = file.split(marker, 1)[1]
                    break
            frames.append((m["func"], file))
        else:
            frames.append((part, ""))
    return thread, frames, int(count)


def _thread_name(thread: str) -> str:
    # "thread (123): MainThread" -> "MainThread"; worker threads share a name pattern.
    name = thread.split(": ", 1)[-1]
    if re.fullmatch(r"ThreadPoolExecutor-0_\d+", name):
        return "ThreadPoolExecutor-0 (asgiref's shared sync thread: every socket's DB work)"
    if re.fullmatch(r"ThreadPoolExecutor-\d+_\d+", name):
        return "ThreadPoolExecutor-* (a sync thread per HTTP request)"
    return re.sub(r"Thread-\d+", "Thread-N", name)


def summarize(path: Path, rate: int = 250, seconds: float | None = None) -> dict:
    threads: Counter = Counter()
    thread_ids: dict[str, set] = {}
    categories: Counter = Counter()
    inclusive: Counter = Counter()
    self_time: Counter = Counter()
    total = 0
    for line in Path(path).read_text().splitlines():
        parsed = _parse(line)
        if parsed is None:
            continue
        thread, frames, count = parsed
        total += count
        name = _thread_name(thread)
        threads[name] += count
        thread_ids.setdefault(name, set()).add(thread.split(")", 1)[0])
        for cat, pred in CATEGORIES:
            if pred(frames):
                categories[cat] += count
                break
        else:
            categories["other"] += count
        seen = set()
        for func, file in frames:
            key = f"{func} ({file})"
            if key not in seen:
                inclusive[key] += count
                seen.add(key)
        if frames:
            func, file = frames[-1]
            self_time[f"{func} ({file})"] += count
    if not total:
        return {"samples": 0}
    boring = ("_bootstrap", "Thread.run", "run_forever", "_run_once", "Handle._run", "<module>", "run_module",
              "_run_code", "Server.serve", "Server.run", "main (", "_worker (", "run (asyncio", "asyncio.run",
              "uvloop.run", "Context.run", "invoke (click", "Command.main", "Command.invoke", "_main",
              "Runner.run", "run_until_complete", "Multiprocess")
    top_inclusive = [(k, v) for k, v in inclusive.most_common(80) if not any(b in k for b in boring)][:25]
    return {
        "samples": total, "rate_hz": rate, "seconds": seconds,
        "threads": [{"thread": t, "samples": n, "pct_of_samples": 100 * n / total, "count": len(thread_ids[t]),
                     "busy_pct_of_one_core": (100 * n / (rate * seconds)) if seconds else None}
                    for t, n in threads.most_common()],
        "categories": [{"category": c, "pct": 100 * n / total} for c, n in categories.most_common()],
        "top_inclusive": [{"frame": k, "pct": 100 * v / total} for k, v in top_inclusive],
        "top_self": [{"frame": k, "pct": 100 * v / total} for k, v in self_time.most_common(20)],
    }


def write_text(summary: dict, out: Path) -> None:
    lines = [f"py-spy samples of the GIL-holding thread: {summary.get('samples')} at {summary.get('rate_hz')} Hz"
             f" over {summary.get('seconds')} s ({summary.get('what', '')})", "", "threads (share of samples, ~% of a core):"]
    for t in summary.get("threads", []):
        busy = f", ~{t['busy_pct_of_one_core']:.0f}% of a core" if t.get("busy_pct_of_one_core") else ""
        lines.append(f"  {t['pct_of_samples']:5.1f}%  {t['thread']} (x{t['count']}){busy}")
    lines += ["", "by category (first matching rule per sample):"]
    lines += [f"  {c['pct']:5.1f}%  {c['category']}" for c in summary.get("categories", [])]
    lines += ["", "top inclusive frames:"]
    lines += [f"  {f['pct']:5.1f}%  {f['frame']}" for f in summary.get("top_inclusive", [])]
    lines += ["", "top self frames:"]
    lines += [f"  {f['pct']:5.1f}%  {f['frame']}" for f in summary.get("top_self", [])]
    out.write_text("\n".join(lines) + "\n")
