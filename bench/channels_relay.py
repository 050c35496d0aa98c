"""A reference point between the bare relay and the project: the same relay written as a
Channels consumer over the project's channel layer (the project's layer, halobestie/sockets/layer.py, from the
bench's settings), with no auth and no database.

A socket on `/relay/<key>[,<key>...]` joins groups `relay.<key>`; a text frame is
group-sent to the group named by its `"session_id"` (a substring search, like
`bench/relay.py`) and every other member of the group forwards it to its socket. The consumer skips the
per-message thread hop exactly as the project's consumer does (dispatch override), so the
difference to the project is auth, the database and the project's own code; the
difference to `bench/relay.py` is Channels plus Redis pub/sub.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "halobestie.settings.local")

from django.core.asgi import get_asgi_application  # noqa: E402

django_app = get_asgi_application()

from channels.consumer import get_handler_name  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class RelayConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message):
        await getattr(self, get_handler_name(message))(message)

    async def connect(self):
        keys = [k for k in self.scope["url_route"]["kwargs"]["key"].split(",") if k]
        self.groups_joined = [f"relay.{k}" for k in keys]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None:
            return
        i = text_data.find('"session_id":"')
        if i >= 0:
            i += 14
            groups = [f"relay.{text_data[i:text_data.find(chr(34), i)]}"]
        else:
            groups = self.groups_joined
        for group in groups:
            await self.channel_layer.group_send(
                group, {"type": "relay.frame", "text": text_data, "sender": self.channel_name})

    async def relay_frame(self, event):
        if event["sender"] != self.channel_name:
            await self.send(text_data=event["text"])


application = ProtocolTypeRouter({
    "http": django_app,
    "websocket": URLRouter([path("relay/<str:key>", RelayConsumer.as_asgi())]),
})
app = application
