"""The public entrypoint's HTTP handler (halobestie/http.py): concurrent requests are served
in parallel on a fixed set of long-lived threads, not a new thread per request, and each
request's sync code runs on one thread from `request_started` to `request_finished` (its
database connection and transaction stay on that thread, as in Django)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.core import signals

from halobestie.http import PooledThreadsASGIHandler


async def _get(app, path: str) -> int:
    sent, asked = [], []

    async def receive():
        if not asked:
            asked.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}
    await app(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


@pytest.mark.django_db(transaction=True)
def test_requests_share_a_fixed_set_of_threads_and_each_stays_on_one(settings):
    settings.HTTP_SYNC_THREADS = 4
    app = PooledThreadsASGIHandler()
    started, finished = [], []

    def on_started(**kwargs):
        started.append(threading.get_ident())

    def on_finished(**kwargs):
        finished.append(threading.get_ident())

    signals.request_started.connect(on_started)
    signals.request_finished.connect(on_finished)
    try:
        async def scenario():
            first = await asyncio.gather(*[_get(app, "/api/shared/health") for _ in range(40)])
            second = await asyncio.gather(*[_get(app, "/api/shared/health") for _ in range(40)])
            return first + second

        statuses = asyncio.run(scenario())
    finally:
        signals.request_started.disconnect(on_started)
        signals.request_finished.disconnect(on_finished)
    assert statuses == [200] * 80
    assert len(started) == len(finished) == 80
    threads = set(started)
    assert 1 < len(threads) <= 4  # in parallel, on at most HTTP_SYNC_THREADS threads, reused
    assert set(finished) == threads and threading.get_ident() not in threads
