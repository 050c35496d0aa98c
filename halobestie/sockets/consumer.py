"""The app socket: auth, the frame envelope, ref → ack/error, ping, flood control.

Domain frames are handled by functions registered in each app's `socket_handlers.py`
(`HANDLERS = {"message.send": handler}`); a handler gets the consumer and the frame's data,
calls a service on the socket database pool (`sockets/db.py`), and returns the ack's data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.authentication import resolve_principal
from accounts.firebase import TokenError, verify_id_token
from halobestie import metrics
from halobestie.errors import ApplicationError
from halobestie.realtime import user_group

from . import registry
from .db import frame_arrived, socket_db

logger = logging.getLogger(__name__)

Handler = Callable[["AppSocketConsumer", dict], Awaitable[dict | None]]

HANDLER_MODULES = ["pairing.socket_handlers", "chat.socket_handlers"]
_handlers: dict[str, dict[str, Handler]] | None = None

CLOSE_AUTH_FAILED = 4401
CLOSE_WRONG_ROLE = 4403
CLOSE_THROTTLED = 4429

# Receipts a socket remembers to keep them moving forward (message id → highest status).
RECEIPT_RANK = {"sent": 0, "delivered": 1, "read": 2}
RECEIPT_MEMORY = 5000

# Flood control: a token bucket of FLOOD_BURST frames refilled at FLOOD_RATE per second;
# after FLOOD_STRIKES throttled frames the socket is closed.
FLOOD_RATE = 20.0
FLOOD_BURST = 40.0
FLOOD_STRIKES = 20

# A socket handles the frames of up to this many sessions side by side (one lane each, in order
# within a lane); frames of further sessions share the socket's general lane.
MAX_LANES = 8


def handlers_for(role: str) -> dict[str, Handler]:
    global _handlers
    if _handlers is None:
        table: dict[str, dict[str, Handler]] = {"client": {}, "mitra": {}}
        for path in HANDLER_MODULES:
            module_handlers = import_string(f"{path}.HANDLERS")
            for frame_type, (roles, fn) in module_handlers.items():
                for r in roles:
                    table[r][frame_type] = fn
        _handlers = table
    return _handlers[role]


def _frame_bytes(raw: str | bytes) -> int:
    """The frame's UTF-8 size for the limit check: bytes, not characters. A text that cannot
    reach the limit even at 4 bytes per character is not encoded (the common case)."""
    if isinstance(raw, bytes) or len(raw) * 4 <= settings.WS_MAX_FRAME_BYTES:
        return len(raw)
    return len(raw.encode("utf-8", "surrogatepass"))


def _same_origin(origin: str, headers: dict) -> bool:
    """Our own web client (webchat/) is served by this entrypoint: a page whose Origin is
    the host it connects to is ours. Another site's page cannot send our Host and its own
    Origin together (browsers set both), so this admits no one else."""
    host = headers.get("host", "")
    return bool(host) and urlsplit(origin).netloc == host


class FrameError(Exception):
    def __init__(self, code: str, detail: str, **extra):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra = extra  # added fields of the error's data (e.g. valid_types)


@socket_db(shed=False)
def _authenticate(token: str, role: str):
    identity = verify_id_token(token)
    return identity, resolve_principal(identity, role)


class AppSocketConsumer(AsyncWebsocketConsumer):
    role = ""

    user = None
    identity = None
    group = ""
    _closed = False  # closed by the server: nothing more is sent

    async def __call__(self, scope, receive, send):
        """Channels' consumer loop, as three tasks that never wait for one another: this one
        reads the socket, stamping each frame as it arrives (the admission gate refuses a
        frame that waited too long behind the socket's earlier ones, sockets/db.py), and
        dispatches connect and disconnect; `_handle_frames` handles the frames in order, one
        task per session lane (`websocket_receive`); `_dispatch_events` forwards the channel
        layer's events. Channels' own loop
        (`await_many_dispatch`) does one thing at a time — a frame waiting for the database
        held back every event to its socket — and makes a task and an `asyncio.wait` per
        message."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        self._lanes: dict[str, asyncio.Queue] = {}
        self._lane_tasks: list[asyncio.Task] = []  # held: the loop keeps only weak references
        events = None
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            events = asyncio.ensure_future(self._dispatch_events())
        try:
            while True:
                message = await receive()
                if message["type"] == "websocket.receive":
                    message["arrived"] = time.monotonic()
                try:
                    await self.dispatch(message)
                except StopConsumer:
                    return
        finally:
            if events is not None:
                events.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await events

    async def _dispatch_events(self):
        while True:
            message = await self.channel_layer.receive(self.channel_name)
            try:
                await self.dispatch(message)
            except Exception:
                logger.exception("socket event handler failed")

    async def websocket_receive(self, message):
        # Handled by this socket's frame tasks, not here: events to this socket (message.new,
        # receipts) are dispatched by the loop above while a frame waits for the database,
        # so a busy mitra still gets its clients' messages at once (bench: under overload the
        # events queued behind the mitra's own frames). Frames naming a session go to that
        # session's lane, in order; a mitra's three sessions do not wait for one another.
        # Everything else, and everything before the socket is authenticated, goes to one
        # lane, in order (an `auth` frame is handled before the frames after it).
        lane = ""
        text = message.get("text")
        if self.user is not None and text is not None and len(text) <= settings.WS_MAX_FRAME_BYTES:
            try:
                frame = json.loads(text)
            except ValueError:
                frame = None
            message["parsed"] = frame
            data = frame.get("data") if isinstance(frame, dict) else None
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if isinstance(session_id, str) and len(session_id) <= 64 and (
                    session_id in self._lanes or len(self._lanes) < MAX_LANES):
                lane = session_id
        queue = self._lanes.get(lane)
        if queue is None:
            queue = self._lanes[lane] = asyncio.Queue()
            self._lane_tasks.append(asyncio.ensure_future(self._handle_frames(queue)))
        queue.put_nowait(message)

    async def _handle_frames(self, queue: asyncio.Queue):
        while True:
            message = await queue.get()
            if message is None:
                return
            token = frame_arrived.set(message.get("arrived"))
            try:
                await self.receive(text_data=message.get("text"), bytes_data=message.get("bytes"),
                                   parsed=message.get("parsed"))
            except Exception:
                logger.exception("socket frame task failed")
            finally:
                frame_arrived.reset(token)

    async def dispatch(self, message):
        # Channels 4.2+ hops to a thread to close stale DB connections before *every*
        # handler; every DB call here already goes through the socket database pool (sockets/db.py), which
        # does that itself, so the hop is pure overhead on the hot path.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- connection ------------------------------------------------------------------

    async def connect(self):
        self._bucket = FLOOD_BURST
        self._bucket_at = time.monotonic()
        self._strikes = 0
        self._receipts: dict[str, int] = {}
        self._tasks: list[asyncio.Task] = []
        headers = {k.decode("latin1").lower(): v.decode("latin1") for k, v in self.scope.get("headers", [])}
        origin = headers.get("origin")
        if origin and origin not in settings.WS_ALLOWED_ORIGINS and not _same_origin(origin, headers):
            await self.close()  # browsers only: refuse the handshake itself
            return
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        if any(k in query for k in ("token", "access_token", "auth", "id_token")):
            await self._send({"type": "error", "data": {"code": "invalid_token",
                              "detail": "Tokens are never taken from the URL."}})
            await self.close(code=CLOSE_AUTH_FAILED)
            return
        auth_header = headers.get("authorization", "")
        if auth_header:
            parts = auth_header.split()
            token = parts[1] if len(parts) == 2 and parts[0].lower() == "bearer" else ""
            await self._authenticate(token, ref=None)
        else:
            self._tasks.append(asyncio.create_task(self._auth_deadline()))

    async def _auth_deadline(self):
        await asyncio.sleep(settings.WS_AUTH_TIMEOUT)
        if self.user is None:
            await self._send({"type": "error", "data": {"code": "not_authenticated",
                              "detail": f"Authenticate within {settings.WS_AUTH_TIMEOUT:g} seconds."}})
            await self.close(code=CLOSE_AUTH_FAILED)

    async def _authenticate(self, token: str, ref) -> None:
        try:
            identity, principal = await _authenticate(token, self.role)
        except TokenError as exc:
            await self._send({"type": "error", "ref": ref, "data": {"code": exc.code, "detail": exc.detail}})
            await self.close(code=CLOSE_AUTH_FAILED)
            return
        except ApplicationError as exc:
            await self._send({"type": "error", "ref": ref, "data": {"code": exc.code, "detail": exc.detail}})
            await self.close(code=CLOSE_WRONG_ROLE)
            return
        self.identity = identity
        self.user = principal
        self.group = user_group(principal)
        metrics.SOCKETS_OPEN_BY_ROLE[self.role].inc()
        await self.channel_layer.group_add(self.group, self.channel_name)
        try:
            await registry.touch(self.group, self.channel_name)
        except Exception as exc:  # noqa: BLE001 - a registry blip only costs an extra push
            logger.warning("socket registry touch failed: %s", type(exc).__name__)
        self._tasks.append(asyncio.create_task(self._keep_registered()))
        self._tasks.append(asyncio.create_task(self._expire_with_token(identity.expires_at)))
        data = {"role": self.role, "id": str(principal.id), "server_time": timezone.now().isoformat()}
        if ref is not None:
            await self._send({"type": "ack", "ref": ref, "data": data})
        await self._send({"type": "auth.ok", "data": data})
        await self.on_authenticated()

    async def on_authenticated(self) -> None:
        """Hook for role-specific setup (the mitra socket counts as a heartbeat)."""

    async def _keep_registered(self):
        while True:
            await asyncio.sleep(registry.REFRESH_SECONDS)
            try:
                await registry.touch(self.group, self.channel_name)
            except Exception:  # noqa: BLE001 - Redis blip: retry next round
                logger.warning("socket registry refresh failed")

    async def _expire_with_token(self, expires_at: int):
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        await self._send({"type": "error", "data": {"code": "invalid_token", "detail": "Token expired."}})
        await self.close(code=CLOSE_AUTH_FAILED)

    async def disconnect(self, code):
        for task in getattr(self, "_tasks", []):
            task.cancel()
        # Frames not started yet are dropped (never answered: the app resends them, by
        # client_message_id); the one being handled finishes.
        for queue in self._lanes.values():
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)
        if self.group:
            metrics.SOCKETS_OPEN_BY_ROLE[self.role].dec()
            for step in (self.channel_layer.group_discard, registry.remove):
                try:
                    await step(self.group, self.channel_name)
                except Exception as exc:  # noqa: BLE001 - the layer may be the thing that failed
                    logger.warning("socket cleanup failed: %s", type(exc).__name__)
            await self.on_disconnected()

    async def on_disconnected(self) -> None:
        """Hook for role-specific cleanup."""

    # --- frames ----------------------------------------------------------------------

    def _flooded(self) -> bool:
        now = time.monotonic()
        self._bucket = min(FLOOD_BURST, self._bucket + (now - self._bucket_at) * FLOOD_RATE)
        self._bucket_at = now
        if self._bucket >= 1:
            self._bucket -= 1
            return False
        return True

    async def receive(self, text_data=None, bytes_data=None, parsed=None):
        raw = text_data if text_data is not None else bytes_data
        ref = None
        try:
            flooded = self._flooded()
            if flooded:
                self._strikes += 1
                if self._strikes >= FLOOD_STRIKES:
                    await self._send({"type": "error", "data": {"code": "throttled", "detail": "Too many frames."}})
                    await self.close(code=CLOSE_THROTTLED)
                    return
            if raw is None or _frame_bytes(raw) > settings.WS_MAX_FRAME_BYTES:
                raise FrameError("frame_too_large", "Frames are limited to 64 KiB.")
            try:
                frame = parsed if parsed is not None else json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise FrameError("validation_error", "Frame is not valid JSON.") from None
            if not isinstance(frame, dict):
                raise FrameError("validation_error", "Frame must be a JSON object.")
            ref = frame.get("ref")
            if ref is not None and (not isinstance(ref, (str, int)) or len(str(ref)) > 64):
                ref = None
                raise FrameError("validation_error", "ref must be a short string.")
            if flooded:  # answered with its ref, like any refusal, so the app knows which to resend
                raise FrameError("throttled", "Too many frames; slow down.", retry_after=round(1 / FLOOD_RATE, 2))
            frame_type = frame.get("type")
            if not isinstance(frame_type, str) or not frame_type:
                raise FrameError("validation_error", "Frame needs a string 'type'.")
            data = frame.get("data", {})
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise FrameError("validation_error", "'data' must be an object.")
            await self._handle(frame_type, data, frame, ref)
        except FrameError as exc:
            await self._send({"type": "error", "ref": ref,
                              "data": {"code": exc.code, "detail": exc.detail, **exc.extra}})
        except ApplicationError as exc:
            body = exc.as_dict()
            await self._send({"type": "error", "ref": ref, "data": body})
        except Exception:
            logger.exception("socket frame handler failed")
            await self._send({"type": "error", "ref": ref, "data": {"code": "server_error",
                              "detail": "Something went wrong; retry."}})

    async def _handle(self, frame_type: str, data: dict, frame: dict, ref) -> None:
        if frame_type == "ping":
            await self._send({"type": "pong", "ref": ref, "data": {"server_time": timezone.now().isoformat()}})
            return
        if frame_type == "auth":
            if self.user is not None:
                raise FrameError("invalid_state", "Already authenticated.")
            token = data.get("token", frame.get("token"))
            if not isinstance(token, str) or not token:
                raise FrameError("validation_error", "auth needs a token.")
            await self._authenticate(token, ref)
            return
        if self.user is None:
            raise FrameError("not_authenticated", "Authenticate first.")
        handler = handlers_for(self.role).get(frame_type)
        if handler is None:
            valid = self.frame_types()
            raise FrameError("unknown_type", f"Unknown frame type '{frame_type[:40]}'. Valid types: {', '.join(valid)}.",
                             valid_types=valid)
        started = time.perf_counter()
        try:
            result = await handler(self, data)
        finally:
            metrics.socket_handler_observe(frame_type, time.perf_counter() - started)
        if ref is not None:
            await self._send({"type": "ack", "ref": ref, "data": result or {}})

    def frame_types(self) -> list[str]:
        """Every frame type this socket accepts (asyncapi.yaml documents the same list)."""
        return sorted({"auth", "ping", *handlers_for(self.role)})

    async def _send(self, frame: dict) -> None:
        if self._closed:
            return
        if frame.get("ref") is None:
            frame.pop("ref", None)
        try:
            await self.send(text_data=json.dumps(frame, separators=(",", ":"), default=str))
        except Exception:  # noqa: BLE001 - the peer is gone; disconnect() will clean up
            pass

    # --- events from the channel layer ---------------------------------------------

    async def close(self, code=None, reason=None):
        if self._closed:
            return
        self._closed = True
        try:
            await super().close(code=code, reason=reason)
        except Exception:  # noqa: BLE001 - the peer is already gone
            pass

    async def app_event(self, event):
        if self._closed:
            return  # closed by the server (flood, expiry, deactivation): events until the disconnect are dropped
        receipt = event.get("receipt")
        frame = event["frame"] if receipt is None else self._forward_receipts(event["frame"], *receipt)
        if frame is not None:
            await self.send(text_data=frame)

    def _forward_receipts(self, frame: str, status: str, ids: list) -> str | None:
        """Receipts only move forward on a socket: two processes may publish `delivered`
        and `read` for the same messages in either order (the database never goes back,
        see messages_mark_delivered), so a socket drops a status its app already has a
        higher one of. The memory is bounded: the oldest ids are forgotten first."""
        rank = RECEIPT_RANK.get(status, 0)
        seen = self._receipts
        forward = [i for i in ids if seen.get(i, -1) < rank]
        for i in forward:
            seen.pop(i, None)
            seen[i] = rank
        while len(seen) > RECEIPT_MEMORY:
            seen.pop(next(iter(seen)))
        if len(forward) == len(ids):
            return frame
        if not forward:
            return None
        data = json.loads(frame)
        data["data"]["message_ids"] = forward
        return json.dumps(data, separators=(",", ":"))

    async def app_control(self, event):
        if event.get("action") == "close":
            await self._send({"type": "error", "data": {"code": "account_deactivated",
                              "detail": "This account can no longer use the app."}})
            await self.close(code=event.get("code", CLOSE_WRONG_ROLE))


class ClientSocketConsumer(AppSocketConsumer):
    role = "client"


class MitraSocketConsumer(AppSocketConsumer):
    role = "mitra"

    async def on_authenticated(self) -> None:
        # Looked up when needed, like the frame handlers (HANDLER_MODULES): the
        # socket kernel does not import an app at import time.
        from pairing.socket_handlers import socket_opened

        await socket_opened(self)
