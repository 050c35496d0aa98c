"""Chat frames over the socket; the same services as the REST endpoints."""

from __future__ import annotations

import time

from halobestie.errors import ApplicationError
from halobestie.sockets.db import socket_db

from . import events
from .events import message_data
from .services import messages, socket_send

TYPING_MIN_INTERVAL = 0.5  # seconds between relayed typing frames per socket


@socket_db
def _send(user, data):
    message, _ = messages.message_send(
        session_id=data.get("session_id"), sender=user,
        client_message_id=data.get("client_message_id"), body=data.get("body"),
    )
    return message_data(message)


async def message_send(consumer, data: dict) -> dict:
    if socket_send.available():
        stored = await socket_send.message_send(consumer.user, data)
        if stored is not None:
            return stored
    return await _send(consumer.user, data)


@socket_db
def _delivered(user, data):
    return messages.messages_mark_delivered(session_id=data.get("session_id"), reader=user,
                                            message_ids=data.get("message_ids"))


async def message_delivered(consumer, data: dict) -> dict:
    return {"message_ids": await _delivered(consumer.user, data)}


@socket_db
def _read(user, data):
    return messages.messages_mark_read(session_id=data.get("session_id"), reader=user, up_to=data.get("up_to"))


async def message_read(consumer, data: dict) -> dict:
    return {"message_ids": await _read(consumer.user, data)}


@socket_db
def _typing_target(user, data):
    return messages.typing_relay(session_id=data.get("session_id"), sender=user, is_typing=data.get("is_typing"))


async def typing(consumer, data: dict) -> dict:
    now = time.monotonic()
    last = getattr(consumer, "_last_typing", 0.0)
    if now - last < TYPING_MIN_INTERVAL and data.get("is_typing") is True:
        raise ApplicationError("throttled", "Typing updates are limited to two per second.")
    consumer._last_typing = now
    # Checked on every frame (rate-limited above), never cached: after a reroute or a close
    # the old participants must lose the relay at once.
    group, payload = await _typing_target(consumer.user, data)
    await events.typing(group, payload)
    return {}


HANDLERS = {
    "message.send": (("client", "mitra"), message_send),
    "message.delivered": (("client", "mitra"), message_delivered),
    "message.read": (("client", "mitra"), message_read),
    "typing": (("client", "mitra"), typing),
}
