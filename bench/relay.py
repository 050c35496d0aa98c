"""The baseline: a bare WebSocket relay with no auth, no database and no channel layer.

Served by the same server stack and flags as the project (`uvicorn bench.relay:app ...`).
A socket that opens `/relay/<key>[,<key>...]` joins those rooms (a bench mitra socket
joins the rooms of all its sessions, a client socket one). A text frame goes, unchanged,
to the other members of the room named by its `"session_id":"<key>"` (found by a
substring search, not by parsing JSON; a frame without one goes to every room of the
sender). Nothing is parsed, stored or acknowledged: this is the floor the project's
persisted, acknowledged chat path is measured against.

`GET /` answers 200 (a readiness probe).
"""

from __future__ import annotations

# key -> the send callables of the sockets that opened /relay/<key>
_rooms: dict[str, list] = {}
_SID = '"session_id":"'


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
    keys = [k for k in path.rsplit("/", 1)[-1].split(",") if k] if path.startswith("/relay/") else []
    message = await receive()
    if message["type"] != "websocket.connect" or not keys:
        await send({"type": "websocket.close", "code": 4404})
        return
    mine = []
    for key in keys:
        room = _rooms.setdefault(key, [])
        room.append(send)
        mine.append(room)
    await send({"type": "websocket.accept"})
    try:
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.receive":
                text = message.get("text")
                if text is None:
                    continue
                i = text.find(_SID)
                rooms = mine
                if i >= 0:
                    i += len(_SID)
                    room = _rooms.get(text[i:text.find('"', i)])
                    rooms = [room] if room is not None else []
                for room in rooms:
                    for peer in room:
                        if peer is not send:
                            try:
                                await peer({"type": "websocket.send", "text": text})
                            except Exception:  # noqa: BLE001 - the peer went away; its task cleans up
                                pass
            elif kind == "websocket.disconnect":
                break
    finally:
        for key, room in zip(keys, mine, strict=True):
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
