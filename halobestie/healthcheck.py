"""The image's HEALTHCHECK: `python -m halobestie.healthcheck` (exit 0 healthy, 1 not).

One image runs every Procfile process, so the check looks at what this container runs
(its PID 1, or HEALTHCHECK_PROCESS): the web and internal entrypoints must answer their
liveness URL; a Celery worker must answer a ping; beat is healthy while the sweep it
schedules keeps ticking. Only the standard library is touched before that, so a check
costs little.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.request
from pathlib import Path

TIMEOUT = 4.0


def process_kind() -> str:
    explicit = os.environ.get("HEALTHCHECK_PROCESS")
    if explicit:
        return explicit
    try:
        cmdline = Path("/proc/1/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        cmdline = ""
    if "celery" in cmdline:
        return "beat" if " beat" in cmdline else "worker"
    if "halobestie.serve internal" in cmdline or "asgi_internal" in cmdline:
        return "internal"
    return "web"


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - loopback only
            return response.status == 200
    except OSError:
        return False


def check(kind: str) -> bool:
    if kind == "web":
        return _http_ok(f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/api/shared/health")
    if kind == "internal":
        return _http_ok(f"http://127.0.0.1:{os.environ.get('INTERNAL_PORT', '8001')}/login/")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "halobestie.settings.production")
    import django

    django.setup()
    if kind == "worker":
        from halobestie.celery import app

        replies = app.control.ping(destination=[f"celery@{socket.gethostname()}"], timeout=TIMEOUT)
        return bool(replies)
    if kind == "beat":
        import time

        from django.conf import settings
        from django.core.cache import cache

        from halobestie.timers import SWEEP_TICK_KEY

        tick = cache.get(SWEEP_TICK_KEY)
        return tick is not None and time.time() - float(tick) <= settings.READY_SWEEP_MAX_AGE
    raise SystemExit(f"unknown process kind {kind!r}")


def main() -> None:
    kind = process_kind()
    healthy = check(kind)
    print(f"{kind}: {'healthy' if healthy else 'unhealthy'}")
    sys.exit(0 if healthy else 1)


if __name__ == "__main__":
    main()
