"""Real concurrency for tests: callables on threads, each thread with its own database
connection (closed when it ends), all released at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def race(calls: list[Callable[[], object]], timeout: float = 60) -> list:
    """Run each zero-argument callable on its own thread, all released at once by a
    barrier; returns their results in order. Any exception fails the caller."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, fn):
        try:
            barrier.wait(10)
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - reported below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    return results
