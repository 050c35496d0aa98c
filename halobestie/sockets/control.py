"""Server-side control of live sockets (close them when an account is switched off)."""

from django.db import transaction

from halobestie.realtime import user_group


def disconnect_user_on_commit(user, code: int = 4403) -> None:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    group = user_group(user)

    def _send():
        layer = get_channel_layer()
        if layer is not None:
            try:
                async_to_sync(layer.group_send)(group, {"type": "app.control", "action": "close", "code": code})
            except Exception:  # noqa: BLE001 - best effort; the next request is refused anyway
                pass

    transaction.on_commit(_send)
