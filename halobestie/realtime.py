"""Socket events: group names, and sending events only after the transaction commits.

Every event the server pushes to the apps goes through `send_on_commit`, so a rolled-back
state change sends nothing, and all events of one transaction leave in one batch.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable, Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from halobestie.sockets.layer import CoalescingPubSubChannelLayer

logger = logging.getLogger(__name__)

Event = tuple[str, str, dict | Callable[[], dict]]  # (group, type, data or its builder)


def client_group(client_id) -> str:
    return f"client.{client_id}"


def mitra_group(mitra_id) -> str:
    return f"mitra.{mitra_id}"


def user_group(user) -> str:
    return client_group(user.id) if user.role == "client" else mitra_group(user.id)


def _envelope(event_type: str, data: dict) -> dict:
    # Serialised once here, not once per receiving socket.
    frame = json.dumps({"type": event_type, "data": data}, separators=(",", ":"), default=str)
    envelope = {"type": "app.event", "frame": frame}
    if event_type == "message.status":
        # Lets each socket keep receipts moving forward only (see the consumer).
        envelope["receipt"] = [data["status"], data["message_ids"]]
    return envelope


async def send_events_now(events: Iterable[Event]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    sends = [layer.group_send(group, _envelope(t, d)) for group, t, d in events]
    if not sends:
        return
    results = await asyncio.gather(*sends, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            # The database is the truth; apps catch up by cursor. Never fail the caller.
            logger.warning("group_send failed: %s", type(result).__name__)


async def publish_now(groups: list[str], event_type: str, data: dict) -> list[int] | None:
    """One event to several groups, now (the caller has committed), serialised once. Per
    group, how many processes have a socket in it, when the layer can tell (the project's
    Redis layer, sockets/layer.py); None when it cannot or the publish failed."""
    layer = get_channel_layer()
    if layer is None:
        return None
    envelope = _envelope(event_type, data)
    try:
        if isinstance(layer, CoalescingPubSubChannelLayer):
            return await layer.group_send_many([(group, envelope) for group in groups])
        await send_events_now([(group, event_type, data) for group in groups])
    except Exception as exc:  # noqa: BLE001 - the database is the truth; apps catch up by cursor
        logger.warning("group_send failed: %s", type(exc).__name__)
    return None


def _send_sync(events: list[Event]) -> None:
    try:
        # A callable payload is built now, after commit: it shows what was committed by then
        # (e.g. an invoice URL created by an earlier on-commit task), not what was known
        # when the event was queued.
        async_to_sync(send_events_now)([(g, t, d() if callable(d) else d) for g, t, d in events])
    except Exception as exc:  # noqa: BLE001 - delivery is best effort by design
        logger.warning("socket event delivery failed: %s", type(exc).__name__)


def built_once(build: Callable[[], dict]) -> Callable[[], dict]:
    """A payload builder for several groups: built (and queried) once per send."""
    return functools.cache(build)


def send_on_commit(events: Iterable[Event]) -> None:
    """Queue socket events to leave after the current transaction commits. A payload may be
    a dict, or a zero-argument callable that builds it after commit."""
    batch = list(events)
    if batch:
        transaction.on_commit(lambda: _send_sync(batch))
