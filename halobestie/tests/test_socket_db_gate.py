"""The socket database pool: frames run on several threads, and past capacity write frames
are refused at once with `throttled` + `retry_after` instead of queueing; what was
admitted always completes."""

import asyncio
import threading
import time

from halobestie.errors import ApplicationError
from halobestie.sockets import db


def test_frames_run_in_parallel_and_overload_is_refused_not_queued(monkeypatch):
    gate = db.Gate(threads=2, max_wait=0.05)
    monkeypatch.setattr(db, "_gate", gate)
    running, peak, lock = [0], [0], threading.Lock()
    release = threading.Event()

    @db.socket_db
    def slow_frame(n):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        release.wait(5)
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return n

    @db.socket_db(shed=False)
    def heartbeat():
        return "beat"

    async def scenario():
        first = [asyncio.create_task(slow_frame(i)) for i in range(8)]
        await asyncio.sleep(0.2)
        release.set()
        done = await asyncio.gather(*first)  # six of them waited far past max_wait
        assert sorted(done) == list(range(8))
        assert gate.shedding
        refused = []
        try:
            await slow_frame(99)
        except ApplicationError as exc:
            refused.append(exc.as_dict())
        beat = await heartbeat()  # a heartbeat still passes while shedding
        return refused, beat

    refused, beat = asyncio.run(scenario())
    assert peak[0] == 2  # two threads at once, not Channels' one
    assert refused and refused[0]["code"] == "throttled" and refused[0]["retry_after"] > 0
    assert beat == "beat" and not gate.shedding  # the heartbeat started at once: the queue drained
    assert gate.refused == 1
