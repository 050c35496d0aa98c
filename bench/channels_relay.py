"""A reference point between the bare relay and the project: the same relay written as a
Channels consumer over the project's channel layer (RedisPubSubChannelLayer from the
bench's settings), with no auth and no database.

Two sockets on `/relay/<key>` join group `relay.<key>`; a text frame is group-sent to it
and every other member of the group forwards it to its socket. The consumer skips the
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
        self.group = f"relay.{self.scope['url_route']['kwargs']['key']}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is not None:
            await self.channel_layer.group_send(
                self.group, {"type": "relay.frame", "text": text_data, "sender": self.channel_name})

    async def relay_frame(self, event):
        if event["sender"] != self.channel_name:
            await self.send(text_data=event["text"])


application = ProtocolTypeRouter({
    "http": django_app,
    "websocket": URLRouter([path("relay/<str:key>", RelayConsumer.as_asgi())]),
})
app = application
