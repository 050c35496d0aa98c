from channels.routing import URLRouter
from django.urls import path

from .consumer import ClientSocketConsumer, MitraSocketConsumer

websocket_urlpatterns = [
    path("ws/client/", ClientSocketConsumer.as_asgi()),
    path("ws/mitra/", MitraSocketConsumer.as_asgi()),
]

websocket_application = URLRouter(websocket_urlpatterns)
