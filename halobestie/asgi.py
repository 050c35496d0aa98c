"""Public ASGI application: DRF under /api/, Channels under /ws/."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "halobestie.settings.local")

import django  # noqa: E402

django.setup(set_prefix=False)  # before the handler and the consumers are imported

from halobestie.http import PooledThreadsASGIHandler  # noqa: E402

django_app = PooledThreadsASGIHandler()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from halobestie.metrics import shipping  # noqa: E402
from halobestie.sockets.routing import websocket_application  # noqa: E402

shipping.start()  # this process's metrics to Redis, for the internal /metrics

application = ProtocolTypeRouter({"http": django_app, "websocket": websocket_application})
