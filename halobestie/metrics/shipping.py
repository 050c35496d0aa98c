"""Metrics across processes: every process ships its numbers to Redis, the internal
entrypoint serves their sum.

Why Redis, not prometheus-client's multiprocess directory: the processes (`web` ×N,
`internal`, `worker`, `beat`) run in separate containers, often on separate machines, so
they share no filesystem; they all share Redis already. Why not one endpoint per process:
the web processes are public and must not serve /metrics, and Prometheus would have to
discover every web instance behind the load balancer.

How: a daemon thread per process wakes every METRICS_FLUSH_SECONDS and, in one pipeline,
- adds each counter's and histogram bucket's *increase since its last flush* to one
  Redis hash of totals (HINCRBYFLOAT), so totals only grow: a restarted or dead process
  keeps what it counted, and Prometheus' rate() sees no false resets;
- writes its gauges (sockets open) to a hash of its own that expires after three missed
  flushes, so a dead process's sockets stop counting within seconds.
A failed flush is retried with the next one (the increase is kept), so a Redis blip
loses nothing; a killed process loses at most its last interval. The hot paths never
wait for Redis: they only touch the in-process prometheus-client objects.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator

import redis
from django.conf import settings
from prometheus_client.metrics_core import Metric

from . import REGISTRY

logger = logging.getLogger(__name__)

ADDITIVE = ("counter", "histogram")


def prefix() -> str:
    return settings.METRICS_PREFIX


def _keys() -> tuple[str, str]:
    return f"{prefix()}:totals", f"{prefix()}:procs"


def _gauge_key(proc: str) -> str:
    return f"{prefix()}:gauges:{proc}"


def _field(sample_name: str, labels: dict) -> str:
    return json.dumps([sample_name, sorted(labels.items())], separators=(",", ":"))


def read_registry(registry=REGISTRY) -> tuple[dict[str, float], dict[str, float]]:
    """(additive samples, gauge samples) of this process, keyed by `_field`."""
    additive: dict[str, float] = {}
    gauges: dict[str, float] = {}
    for family in registry.collect():
        target = additive if family.type in ADDITIVE else gauges
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            target[_field(sample.name, sample.labels)] = sample.value
    return additive, gauges


class Shipper(threading.Thread):
    def __init__(self, *, client: redis.Redis, interval: float, registry=REGISTRY):
        super().__init__(name="halobestie-metrics", daemon=True)
        self.client = client
        self.interval = interval
        self.registry = registry
        self.proc = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.shipped: dict[str, float] = {}
        self.stopped = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.flush()

    def flush(self) -> bool:
        with self._lock:
            additive, gauges = read_registry(self.registry)
            deltas = {k: v - self.shipped.get(k, 0.0) for k, v in additive.items()}
            totals, procs = _keys()
            gauge_key = _gauge_key(self.proc)
            ttl = max(1, int(self.interval * 3 + 0.999))
            try:
                pipe = self.client.pipeline(transaction=False)
                for key, delta in deltas.items():
                    if delta or key not in self.shipped:  # zeros once: every series exists from the start
                        pipe.hincrbyfloat(totals, key, delta)
                pipe.delete(gauge_key)
                if gauges:
                    pipe.hset(gauge_key, mapping=gauges)
                    pipe.expire(gauge_key, ttl)
                pipe.zadd(procs, {self.proc: time.time()})
                pipe.execute()
            except redis.RedisError as exc:
                logger.warning("metrics flush failed (retried next time): %s", type(exc).__name__)
                return False
            self.shipped = additive
            return True

    def stop(self) -> None:
        """Last flush, then stop (process exit); the gauges go at once."""
        self.stopped.set()
        self.flush()
        try:
            self.client.delete(_gauge_key(self.proc))
            self.client.zrem(_keys()[1], self.proc)
        except redis.RedisError:
            pass


_shipper: Shipper | None = None


def start() -> Shipper | None:
    """Start shipping this process's metrics (idempotent). A no-op without Redis (the
    embedded mode serves its one process directly) or when METRICS_SHIP is off."""
    global _shipper
    if _shipper is not None or not settings.REDIS_URL or not settings.METRICS_SHIP:
        return _shipper
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    _shipper = Shipper(client=client, interval=settings.METRICS_FLUSH_SECONDS)
    _shipper.start()
    atexit.register(_shipper.stop)
    return _shipper


# --- reading: the internal entrypoint -----------------------------------------------------


def live_processes(client: redis.Redis, *, now: float | None = None) -> list[str]:
    """Processes that flushed within three intervals; older entries are dropped."""
    _totals, procs = _keys()
    horizon = (now or time.time()) - settings.METRICS_FLUSH_SECONDS * 3
    client.zremrangebyscore(procs, "-inf", horizon)
    return [p.decode() for p in client.zrange(procs, 0, -1)]


def _sample_order(item: tuple[str, dict, float]) -> tuple:
    name, labels, _value = item
    rest = sorted((k, v) for k, v in labels.items() if k != "le")
    le = labels.get("le")
    return (rest, name.endswith("_count"), name.endswith("_sum"), float(le) if le is not None else 0.0)


def _families(values: dict[str, float], *, registry=REGISTRY) -> Iterator[Metric]:
    """Families shaped like this process's definitions, with the given sample values."""
    by_name: dict[str, list[tuple[str, dict, float]]] = defaultdict(list)
    for key, value in values.items():
        sample_name, labels = json.loads(key)
        by_name[sample_name].append((sample_name, dict(labels), value))
    for family in registry.collect():
        metric = Metric(family.name, family.documentation, family.type, family.unit)
        names = [n for n in by_name if n == family.name or n.startswith(family.name + "_")]
        samples = sorted((s for n in names for s in by_name[n]), key=_sample_order)
        for name, labels, value in samples:
            metric.add_sample(name, labels, value)
        yield metric


class MergedCollector:
    """Every process's numbers, summed: totals as stored, gauges of the live processes."""

    def __init__(self, client: redis.Redis):
        self.client = client

    def collect(self) -> Iterator[Metric]:
        totals_key, _procs = _keys()
        values: dict[str, float] = {k.decode(): float(v) for k, v in self.client.hgetall(totals_key).items()}
        procs = live_processes(self.client)
        pipe = self.client.pipeline(transaction=False)
        for proc in procs:
            pipe.hgetall(_gauge_key(proc))
        for gauges in pipe.execute():
            for key, value in gauges.items():
                values[key.decode()] = values.get(key.decode(), 0.0) + float(value)
        yield from _families(values)
        alive = Metric("halobestie_metrics_processes", "Processes that shipped metrics in the last three intervals.",
                       "gauge")
        alive.add_sample("halobestie_metrics_processes", {}, float(len(procs)))
        yield alive


class LocalCollector:
    """The embedded mode: one process serves both entrypoints; its registry is the truth."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
