"""What-if settings: the project's own settings plus one proposed change, to size a finding.

    python -m bench --whatif dbpool        # results in bench/results/whatif-dbpool.{json,md}

BENCH_WHATIF (comma-separated) picks the changes; BENCH_BASE_SETTINGS the module to start
from (default halobestie.settings.local). Nothing here is used by the app itself.
"""

import importlib
import os

_base = importlib.import_module(os.environ.get("BENCH_BASE_SETTINGS", "halobestie.settings.local"))
globals().update({k: v for k, v in vars(_base).items() if k.isupper()})

WHATIF = {w.strip() for w in os.environ.get("BENCH_WHATIF", "").split(",") if w.strip()}
DATABASES = {alias: {**cfg, "OPTIONS": dict(cfg.get("OPTIONS", {}))} for alias, cfg in _base.DATABASES.items()}

if "dbpool" in WHATIF:
    # Django's built-in psycopg pool: close() hands the connection back instead of ending
    # the PostgreSQL backend, so a socket frame no longer pays connect + auth + fork.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 2, "max_size": 16, "timeout": 10}

if "persistent" in WHATIF:
    # Persistent per-thread connections (the alternative to the pool).
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

if "threads" in WHATIF:
    # Socket DB work on a small thread pool instead of asgiref's one shared sync thread:
    # channels' database_sync_to_async is thread-sensitive, so every socket of the process
    # queues behind one thread. Patched before the handlers are decorated (settings load first).
    from concurrent.futures import ThreadPoolExecutor

    from channels.db import DatabaseSyncToAsync

    _executor = ThreadPoolExecutor(max_workers=int(os.environ.get("BENCH_DB_THREADS", "8")),
                                   thread_name_prefix="bench-db")
    _init = DatabaseSyncToAsync.__init__

    def _unpinned_init(self, func, thread_sensitive=True, executor=None, context=None):
        _init(self, func, thread_sensitive=False, executor=executor or _executor, context=context)

    DatabaseSyncToAsync.__init__ = _unpinned_init

if "events-nowait" in WHATIF:
    # After commit, hand the group sends to the event loop and return, instead of blocking the
    # DB thread in async_to_sync until Redis has answered every PUBLISH.
    import asyncio

    from asgiref.sync import SyncToAsync

    import halobestie.realtime as _realtime

    _blocking = _realtime._send_sync

    def _send_nowait(events):
        loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
        if loop is None or not loop.is_running():
            return _blocking(events)
        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(_realtime.send_events_now(events)))

    _realtime._send_sync = _send_nowait
