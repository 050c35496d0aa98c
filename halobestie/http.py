"""Django's ASGI handler with its sync request threads kept, not made per request.

Django runs each request's sync middleware and view in a `ThreadSensitiveContext` of its
own, and asgiref gives every such context a new single-thread executor: a thread started and
joined per HTTP request (the connection-storm profile, bench/FINDINGS.md N4: `Thread.__init__`
among the top frames, 285 threads for 400 sign-ins). Here a request takes one of
`HTTP_SYNC_THREADS` long-lived contexts in turn, so its sync code still runs on one thread
from start to finish (its database connection, its transaction, `request_finished` closing
that connection: all as in Django), requests still run in parallel on up to that many
threads, and no thread is created per request.
"""

from __future__ import annotations

import itertools

from asgiref.sync import SyncToAsync, ThreadSensitiveContext
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler


class PooledThreadsASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        # Kept for the process's lifetime: asgiref maps each to its executor (a weak map).
        self._contexts = [ThreadSensitiveContext() for _ in range(settings.HTTP_SYNC_THREADS)]
        self._next = itertools.cycle(self._contexts)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        token = SyncToAsync.thread_sensitive_context.set(next(self._next))
        try:
            await self.handle(scope, receive, send)
        finally:
            SyncToAsync.thread_sensitive_context.reset(token)
