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
        time.sleep(0.15)
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
        for _ in range(500):  # the third frame starts after waiting far past max_wait
            if gate.shedding:
                break
            await asyncio.sleep(0.01)
        assert gate.shedding
        refused = []
        try:
            await slow_frame(99)  # the backlog is still there: refused at once, not queued
        except ApplicationError as exc:
            refused.append(exc.as_dict())
        done = await asyncio.gather(*first)
        assert sorted(done) == list(range(8))  # everything admitted completes
        beat = await heartbeat()  # a heartbeat is never shed
        return refused, beat

    refused, beat = asyncio.run(scenario())
    assert peak[0] == 2  # two threads at once, not Channels' one
    assert refused and refused[0]["code"] == "throttled" and refused[0]["retry_after"] > 0
    assert beat == "beat" and not gate.shedding  # the heartbeat started at once: the queue drained
    assert gate.refused == 1


def test_an_idle_gate_reopens_even_if_only_shed_frames_arrive(monkeypatch):
    """A process whose sockets send only write frames (clients send no heartbeats) must not
    stay shut once its queue is empty."""
    gate = db.Gate(threads=1, max_wait=0.05)
    gate.shedding = True  # the last admitted frame had waited too long
    monkeypatch.setattr(db, "_gate", gate)

    @db.socket_db
    def frame():
        return "stored"

    assert asyncio.run(frame()) == "stored"
    assert gate.refused == 0


@db.socket_db
def _write_frame():
    return "stored"


@db.socket_db(shed=False)
def _heartbeat():
    return "beat"


def test_a_late_event_loop_refuses_write_frames_until_it_is_on_time_again(monkeypatch):
    """The process's CPU is the limit: frames wait in the server's socket buffers, where no
    pool wait shows it (bench finding N2). A loop that wakes a timer late by more than
    `max_lag` refuses write frames at once; heartbeats still pass; on time again, it admits."""
    gate = db.Gate(threads=2, max_wait=10.0, max_lag=0.1)
    monkeypatch.setattr(db, "_gate", gate)

    async def scenario():
        assert await _write_frame() == "stored"  # starts the lag watch
        await asyncio.sleep(0.05)
        time.sleep(0.4)  # the loop is busy: every timer fires 0.4 s late
        await asyncio.sleep(0.03)
        refused = []
        try:
            await _write_frame()
        except ApplicationError as exc:
            refused.append(exc.as_dict())
        beat = await _heartbeat()
        await asyncio.sleep(0.6)  # on time again: the lag decays within a few ticks
        return refused, beat, await _write_frame()

    refused, beat, later = asyncio.run(scenario())
    assert [r["code"] for r in refused] == ["throttled"] and refused[0]["retry_after"] > 0
    assert (beat, later) == ("beat", "stored")
    assert gate.refused == 1 and not gate.shedding  # the pool never waited: the loop alone decided


def test_a_frame_that_waited_too_long_behind_its_socket_is_refused_a_fresh_one_is_not(monkeypatch):
    gate = db.Gate(threads=2, max_wait=0.05)
    monkeypatch.setattr(db, "_gate", gate)

    async def handle(arrived_ago: float, fn):
        token = db.frame_arrived.set(time.monotonic() - arrived_ago)
        try:
            return await fn()
        except ApplicationError as exc:
            return exc.code
        finally:
            db.frame_arrived.reset(token)

    async def scenario():
        return [await handle(0.2, _write_frame), await handle(0.2, _heartbeat), await handle(0.0, _write_frame)]

    assert asyncio.run(scenario()) == ["throttled", "beat", "stored"]
    assert gate.refused == 1
