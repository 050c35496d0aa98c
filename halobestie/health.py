"""Liveness (`/api/shared/health`) and readiness (`/api/shared/ready`).

Liveness answers whether this process serves at all (and reaches PostgreSQL, as it always
has). Readiness checks every dependency a request may need — PostgreSQL, Redis, the
channel layer — and reports the sweep's last tick. A dependency down answers 503 in the
contract's error shape with the checks beside it, so a load balancer stops sending this
instance traffic and an operator sees which one failed.

A stale sweep is reported (`"sweep": {"ok": false}`, `"status": "degraded"`) but does not
make the instance unready: the sweep runs in Celery beat, not here, and pulling every web
instance out of rotation would turn a late clock into an outage. Alert on it instead.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from halobestie.timers import SWEEP_TICK_KEY

CHECK_TIMEOUT = 2.0  # seconds per dependency: a probe must answer even when one hangs


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = check() or {}
        ok = True
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the type is enough
        result, ok = {"error": type(exc).__name__}, False
    return {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1), **result}


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> dict | None:
    if not settings.REDIS_URL:
        return {"mode": "in-process"}
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=CHECK_TIMEOUT,
                                  socket_connect_timeout=CHECK_TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()
    return None


async def _layer_roundtrip() -> None:
    layer = get_channel_layer()
    await asyncio.wait_for(layer.group_send("health.ready", {"type": "health.ping"}), CHECK_TIMEOUT)


def _channel_layer() -> dict:
    async_to_sync(_layer_roundtrip)()
    return {"backend": settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]}


def _sweep() -> dict:
    tick = cache.get(SWEEP_TICK_KEY)
    if tick is None:
        return {"fresh": False, "last_tick_at": None, "age_seconds": None}
    age = max(0.0, time.time() - float(tick))
    return {
        "fresh": age <= settings.READY_SWEEP_MAX_AGE,
        "last_tick_at": datetime.fromtimestamp(float(tick), UTC).isoformat(),
        "age_seconds": round(age, 1),
    }


def readiness() -> tuple[dict, int]:
    checks = {"database": _timed(_database), "redis": _timed(_redis), "channel_layer": _timed(_channel_layer)}
    sweep = _timed(_sweep)
    sweep["ok"] = sweep["ok"] and sweep.pop("fresh", False)
    down = [name for name, check in checks.items() if not check["ok"]]
    checks["sweep"] = sweep
    if down:
        return {
            "code": "service_unavailable",
            "detail": f"Not ready: {', '.join(down)} unavailable.",
            "status": "unavailable",
            "checks": checks,
        }, 503
    return {"status": "ok" if sweep["ok"] else "degraded", "checks": checks}, 200


class HealthView(APIView):
    """Liveness plus the database: 503 in the contract's shape when PostgreSQL is down."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(
        summary="Liveness",
        description="No auth. `{\"status\": \"ok\"}` while the process serves and reaches PostgreSQL; "
        "503 `service_unavailable` otherwise. For the load balancer's readiness probe use `/api/shared/ready`.",
        responses={200: inline_serializer("Health", {"status": serializers.CharField()})},
        operation_id="shared_health",
    )
    def get(self, request):
        try:
            _database()
        except Exception:  # noqa: BLE001 - any database failure means "not healthy"
            response = Response(
                {"code": "service_unavailable", "detail": "Database unavailable.", "status": "degraded"},
                status=503,
            )
            response["Retry-After"] = "5"
            return response
        return Response({"status": "ok"})


_Check = inline_serializer("ReadinessCheck", {
    "ok": serializers.BooleanField(),
    "ms": serializers.FloatField(help_text="how long the check took"),
    "error": serializers.CharField(required=False, help_text="the failure's type, when not ok"),
})


class ReadinessView(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(
        summary="Readiness",
        description=(
            "No auth. Checks PostgreSQL, Redis and the channel layer (each within 2 s) and reports the "
            "sweep's last tick. 200 `{\"status\": \"ok\"|\"degraded\", \"checks\": {...}}` — `degraded` when "
            "only the sweep is late (more than `READY_SWEEP_MAX_AGE` seconds); 503 `service_unavailable` "
            "with the same `checks` when a dependency is down."
        ),
        responses={200: inline_serializer("Readiness", {
            "status": serializers.ChoiceField(choices=["ok", "degraded"]),
            "checks": serializers.DictField(child=_Check),
        })},
        operation_id="shared_ready",
    )
    def get(self, request):
        body, status = readiness()
        response = Response(body, status=status)
        if status == 503:
            response["Retry-After"] = "5"
        return response
