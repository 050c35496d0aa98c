"""Mitra socket frames for presence."""

from halobestie.sockets.db import socket_db

from . import services, shapes


@socket_db(shed=False)
def _heartbeat(mitra):
    return shapes.presence_data(services.presence_heartbeat(mitra=mitra))


async def heartbeat(consumer, data: dict) -> dict:
    return await _heartbeat(consumer.user)


async def socket_opened(consumer) -> None:
    """An authenticated mitra socket counts as a heartbeat."""
    await _heartbeat(consumer.user)


HANDLERS = {"presence.heartbeat": (("mitra",), heartbeat)}
