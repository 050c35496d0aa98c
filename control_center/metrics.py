"""GET /metrics on the internal entrypoint (halobestie/urls_internal.py; never routed on
the public one): Prometheus text format.

What it serves: every process's instruments summed (halobestie.metrics.shipping), plus
numbers read at scrape time, which need no process to report them: the Celery queue
depth in the broker, and the sweep lag from the deadline columns. It lives in the top
layer because the sweep lag reads every app's deadlines.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from halobestie.metrics.shipping import LocalCollector, MergedCollector

from . import selectors

# kombu's Redis transport keeps priority levels 3, 6 and 9 in sibling lists.
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


class CeleryQueueCollector:
    def __init__(self, client: redis.Redis):
        self.client = client

    def collect(self) -> Iterator:
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        pipe = self.client.pipeline(transaction=False)
        for suffix in PRIORITY_SUFFIXES:
            pipe.llen(queue + suffix)
        pipe.hlen("unacked")
        *depths, unacked = pipe.execute()
        depth = GaugeMetricFamily(
            "halobestie_celery_queue_depth", "Celery tasks waiting in the broker for a worker.", labels=["queue"]
        )
        depth.add_metric([queue], float(sum(depths)))
        yield depth
        yield GaugeMetricFamily(
            "halobestie_celery_unacked",
            "Celery tasks taken by workers and not acknowledged yet (running, or held for their ETA).",
            value=float(unacked),
        )


class SweepLagCollector:
    def collect(self) -> Iterator:
        lag = GaugeMetricFamily(
            "halobestie_sweep_lag_seconds",
            "Seconds since the oldest deadline that passed without its transition, by deadline (0: on time).",
            labels=["deadline"],
        )
        for label, seconds in selectors.overdue_deadlines().items():
            lag.add_metric([label], seconds)
        yield lag


def _authorised(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return True
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), token.encode())


def build_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        registry.register(MergedCollector(client))
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)
        registry.register(CeleryQueueCollector(broker))
    else:
        registry.register(LocalCollector())
    registry.register(SweepLagCollector())
    return registry


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _authorised(request):
        return HttpResponse("Unauthorized.\n", status=401, content_type="text/plain")
    try:
        body = generate_latest(build_registry())
    except redis.RedisError:
        # Prometheus marks the scrape failed (up == 0): the outage shows without a 500 page.
        return HttpResponse("Redis unavailable.\n", status=503, content_type="text/plain")
    # The classic 0.0.4 text format: every Prometheus version reads it (our names are all
    # plain ASCII, so the body is the same as the newer format's).
    response = HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
