"""Deadlines: rows hold them, tasks are an optimisation, the sweep is the truth.

A state with a deadline (`ends_at`, `expires_at`, ...) schedules a Celery task at that
moment (`schedule_at`). If the task is lost, late or runs twice, the periodic `sweep`
performs every overdue transition anyway; each transition is a guarded state change, so
running it twice does nothing the second time. In the embedded mode (no broker) there are
no ETA tasks: an in-process ticker thread runs the sweep every SWEEP_INTERVAL seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# Each returns how many transitions it performed. Order matters little: each is idempotent.
SWEEPERS = [
    "pairing.services.presence_sweep_auto_offline",
    "pairing.services.pairing_sweep_expired",
    "chat.services.lifecycle.session_sweep_overdue",
    "billing.services.extensions.extension_sweep_overdue",
    "billing.services.payments.payment_sweep_overdue",
    "chat.services.care.care_sweep",
    "chat.services.triage.crisis_oncall_sweep",
]


# When the sweep last ran (epoch seconds), shared through the cache: /api/shared/ready reads it.
SWEEP_TICK_KEY = "sweep:last_tick"


def record_sweep_tick() -> None:
    try:
        cache.set(SWEEP_TICK_KEY, time.time(), timeout=None)
    except Exception:  # noqa: BLE001 - readiness reports the cache itself
        logger.warning("could not record the sweep tick")


def eta_tasks_enabled() -> bool:
    return not settings.CELERY_TASK_ALWAYS_EAGER


def schedule_at(task, eta: datetime | None, **kwargs) -> None:
    """Run `task(**kwargs)` at `eta`, after commit. A no-op in the embedded mode."""
    if eta is None or not eta_tasks_enabled():
        return

    def _send():
        try:
            task.apply_async(kwargs=kwargs, eta=eta)
        except Exception as exc:  # noqa: BLE001 - broker down: the sweep still runs it
            logger.warning("could not schedule %s: %s", task.name, type(exc).__name__)

    transaction.on_commit(_send)


def run_sweep() -> dict[str, int]:
    done: dict[str, int] = {}
    for path in SWEEPERS:
        try:
            fn = import_string(path)
        except ImportError:
            continue
        try:
            done[path.rsplit(".", 1)[1]] = fn()
        except Exception:
            logger.exception("sweeper %s failed", path)
    record_sweep_tick()  # readiness reports how long ago the clock last ran
    return done


@shared_task(name="halobestie.timers.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    return run_sweep()


class Ticker(threading.Thread):
    """The embedded mode's clock: the sweep, every few seconds, in a daemon thread."""

    def __init__(self, interval: float | None = None):
        super().__init__(name="halobestie-ticker", daemon=True)
        self.interval = interval or settings.SWEEP_INTERVAL
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                run_sweep()
            finally:
                close_old_connections()

    def stop(self) -> None:
        self.stopped.set()
