"""The one push task. Queued by notifications.services after commit, never called directly."""

from __future__ import annotations

import logging
import random

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 5
RETRY_MAX_SECONDS = 600
MAX_RETRIES = 6


def retry_countdown(retries: int, retry_after: float = 0.0) -> float:
    """Exponential back-off (5 s, 10 s, 20 s ... at most 10 min) with jitter, and never
    sooner than FCM's Retry-After."""
    backoff = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * (2 ** retries))
    return max(retry_after, backoff * random.uniform(0.75, 1.25))


@shared_task(
    bind=True,
    name="notifications.push_send",
    max_retries=MAX_RETRIES,
    # A database blip: the whole task again, with Celery's own back-off.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=RETRY_BASE_SECONDS,
    retry_backoff_max=RETRY_MAX_SECONDS,
    retry_jitter=True,
)
def push_send(self, *, event: str, data: dict, client_ids: list | None = None, mitra_ids: list | None = None,
              device_ids: list | None = None, expires_at: str | None = None) -> dict:
    report = services.push_deliver(event=event, data=data, client_ids=client_ids or (),
                                   mitra_ids=mitra_ids or (), device_ids=device_ids, expires_at=expires_at)
    if report.retry_device_ids:
        if self.request.retries >= self.max_retries:
            logger.warning("push gave up: type=%s devices=%d after %d retries", event,
                           len(report.retry_device_ids), self.request.retries)
        else:
            # Only the devices that failed transiently: the others already have the push.
            raise self.retry(
                kwargs={"event": event, "data": data, "client_ids": client_ids, "mitra_ids": mitra_ids,
                        "device_ids": report.retry_device_ids, "expires_at": expires_at},
                countdown=retry_countdown(self.request.retries, report.retry_after),
            )
    return {"devices": report.devices, "batches": report.batches, "delivered": report.delivered,
            "removed": report.removed, "failed": report.failed, "skipped": report.skipped}
