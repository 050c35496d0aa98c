"""Internal ASGI application: the control center and Django admin, nothing else.

Same settings, different URLconf: every request is tagged as internal and
`RequestIdMiddleware` routes it through `urls_internal`.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "halobestie.settings.local")

from django.core.asgi import get_asgi_application  # noqa: E402

_django_app = get_asgi_application()


async def application(scope, receive, send):
    if scope["type"] not in ("http", "lifespan"):
        # No sockets on the internal entrypoint: the dashboard polls.
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4404})
        return
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await _django_app(dict(scope, halobestie_entrypoint="internal"), receive, send)
