"""Benchmark of the crisis check (a measurement, not a test):

    taskset -c 0 .venv/bin/python -m chat.crisis.bench     # one core

Scores every corpus line with its context (as the chat path does: the message plus the client's
previous messages) several times, and prints per-message p50/p99/max, the cost of a 4,000-character
message (the longest a client can send), and the memory the loaded lexicon and model add to a
process (resident set size before and after loading, in a fresh interpreter).
"""

from __future__ import annotations

import gc
import statistics
import time
from pathlib import Path


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(rounds: int = 5) -> None:
    before = _rss_mb()
    t0 = time.perf_counter()
    from . import corpus
    from .detector import assess
    from .model import current_model

    current_model()
    load_s = time.perf_counter() - t0
    loaded = _rss_mb()
    rows = corpus.load()
    # the chat path passes up to 3 previous messages; corpus rows without context get the three
    # rows before them as context, a realistic worst case for the window
    cases = []
    for i, row in enumerate(rows):
        context = row.context_messages or tuple(r.text for r in rows[max(0, i - 3):i])
        cases.append((row.text, context))
    gc.disable()
    times = []
    for _ in range(rounds):
        for text, context in cases:
            start = time.perf_counter_ns()
            assess(text, context)
            times.append(time.perf_counter_ns() - start)
    gc.enable()
    times.sort()
    q = statistics.quantiles(times, n=100)
    long_text = ("aku capek banget sama semuanya dan ga tau harus cerita ke siapa lagi, " * 60)[:4000]
    long_times = []
    for _ in range(50):
        start = time.perf_counter_ns()
        assess(long_text, [long_text, long_text, long_text])
        long_times.append(time.perf_counter_ns() - start)
    after = _rss_mb()
    model = current_model()
    print(f"messages scored: {len(times)} ({len(cases)} corpus lines x {rounds}, each with up to 3 context messages)")
    print(f"per message: p50 {q[49] / 1e6:.3f} ms, p99 {q[98] / 1e6:.3f} ms, max {times[-1] / 1e6:.3f} ms")
    print(f"4,000-character message with three 4,000-character context messages: "
          f"median {statistics.median(long_times) / 1e6:.2f} ms, max {max(long_times) / 1e6:.2f} ms")
    print(f"model: {len(model.index)} features; load {load_s * 1000:.0f} ms (with imports)")
    print(f"memory: {before:.1f} MB before import, {loaded:.1f} MB after loading, {after:.1f} MB after the run "
          f"(+{after - before:.1f} MB)")


if __name__ == "__main__":
    main()
