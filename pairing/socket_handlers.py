"""Mitra socket frames for presence."""

from channels.db import database_sync_to_async

from . import services


@database_sync_to_async
def _heartbeat(mitra):
    return services.presence_data(services.presence_heartbeat(mitra=mitra))


async def heartbeat(consumer, data: dict) -> dict:
    return await _heartbeat(consumer.user)


async def socket_opened(consumer) -> None:
    """An authenticated mitra socket counts as a heartbeat."""
    await _heartbeat(consumer.user)


HANDLERS = {"presence.heartbeat": (("mitra",), heartbeat)}
