"""Listen to socket events in-process, the way a connected app would, without a server.

`EventProbe("client.<id>", "mitra.<id>")` subscribes to those channel-layer groups (the
same groups the socket consumer joins) on a thread with its own event loop, and keeps
every app frame that arrives. Services send events on commit, so in a plain `django_db`
test wrap the call in `django_capture_on_commit_callbacks(execute=True)`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

from channels.layers import get_channel_layer


class EventProbe:
    def __init__(self, *groups: str):
        self.groups = list(groups)
        self.frames: list[tuple[str, dict]] = []  # (group, {"type", "data"})
        self._cond = threading.Condition()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="event-probe", daemon=True)

    # --- lifecycle -----------------------------------------------------------------

    def __enter__(self) -> EventProbe:
        self._thread.start()
        if not self._ready.wait(10):
            raise AssertionError("event probe did not subscribe in 10 s")
        if self._error:
            raise self._error
        return self

    def __exit__(self, *exc) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _main(self) -> None:
        layer = get_channel_layer()
        self._stop = asyncio.Event()
        channels: dict[str, str] = {}
        for group in self.groups:
            # One channel per group, so every frame says which group it came through.
            channel = await layer.new_channel()
            await layer.group_add(group, channel)
            channels[channel] = group
        # Prove the subscriptions are live before the test publishes anything.
        ready_group = f"probe.{uuid.uuid4().hex}"
        ready_channel = await layer.new_channel()
        await layer.group_add(ready_group, ready_channel)
        await layer.group_send(ready_group, {"type": "probe.ready"})
        await asyncio.wait_for(layer.receive(ready_channel), 10)
        self._ready.set()

        async def pump(channel: str, group: str):
            while True:
                message = await layer.receive(channel)
                if message.get("type") != "app.event":
                    continue
                with self._cond:
                    self.frames.append((group, json.loads(message["frame"])))
                    self._cond.notify_all()

        tasks = [asyncio.create_task(pump(c, g)) for c, g in channels.items()]
        await self._stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel, group in channels.items():
            await layer.group_discard(group, channel)
        await layer.group_discard(ready_group, ready_channel)

    # --- reading -------------------------------------------------------------------

    def events(self, event_type: str | None = None, group: str | None = None) -> list[dict]:
        with self._cond:
            return [f for g, f in self.frames
                    if (event_type is None or f["type"] == event_type) and (group is None or g == group)]

    def wait_event(self, event_type: str, *, group: str | None = None, timeout: float = 5, **match) -> dict:
        """The first `event_type` frame (to `group`, if given) whose data has `match`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for g, frame in self.frames:
                    if frame["type"] != event_type or (group is not None and g != group):
                        continue
                    if all(frame.get("data", {}).get(k) == v for k, v in match.items()):
                        return frame
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(g, f["type"]) for g, f in self.frames[-10:]]
                    raise AssertionError(f"no {event_type} {match} to {group or 'any group'}; saw {seen}")
                self._cond.wait(remaining)

    def settle(self, quiet: float = 0.3) -> None:
        """Wait until no new frame arrived for `quiet` seconds (to assert an absence)."""
        with self._cond:
            count = len(self.frames)
            while True:
                self._cond.wait(quiet)
                if len(self.frames) == count:
                    return
                count = len(self.frames)
