"""The baseline: a bare WebSocket relay with no auth, no database and no channel layer.

Served by the same server stack and flags as the project (`uvicorn bench.relay:app ...`).
Two sockets that open `/relay/<key>` are a pair; every text frame one of them sends is
forwarded, unchanged, to the other. Nothing is parsed, stored or acknowledged: this is the
floor the project's persisted, acknowledged chat path is measured against.

`GET /` answers 200 (a readiness probe).
"""

from __future__ import annotations

# key -> the send callables of the sockets that opened /relay/<key>
_rooms: dict[str, list] = {}


async def _http(scope, receive, send) -> None:
    while True:  # drain the request body
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _websocket(scope, receive, send) -> None:
    path = scope.get("path", "")
    key = path.rsplit("/", 1)[-1] if path.startswith("/relay/") else ""
    message = await receive()
    if message["type"] != "websocket.connect" or not key:
        await send({"type": "websocket.close", "code": 4404})
        return
    room = _rooms.setdefault(key, [])
    room.append(send)
    await send({"type": "websocket.accept"})
    try:
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.receive":
                text = message.get("text")
                if text is None:
                    continue
                for peer in room:
                    if peer is not send:
                        try:
                            await peer({"type": "websocket.send", "text": text})
                        except Exception:  # noqa: BLE001 - the peer went away; its task cleans up
                            pass
            elif kind == "websocket.disconnect":
                break
    finally:
        room.remove(send)
        if not room:
            _rooms.pop(key, None)


async def app(scope, receive, send) -> None:
    if scope["type"] == "websocket":
        await _websocket(scope, receive, send)
    elif scope["type"] == "http":
        await _http(scope, receive, send)
    elif scope["type"] == "lifespan":  # daphne always speaks lifespan
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


application = app
