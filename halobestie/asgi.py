"""Public ASGI application: DRF under /api/, Channels under /ws/."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "halobestie.settings.local")

from django.core.asgi import get_asgi_application  # noqa: E402

django_app = get_asgi_application()  # sets Django up before consumers are imported

from channels.routing import ProtocolTypeRouter  # noqa: E402

from halobestie.metrics import shipping  # noqa: E402
from halobestie.sockets.routing import websocket_application  # noqa: E402

shipping.start()  # this process's metrics to Redis, for the internal /metrics

application = ProtocolTypeRouter({"http": django_app, "websocket": websocket_application})
