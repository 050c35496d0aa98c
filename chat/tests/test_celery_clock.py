"""The session clock with real Celery workers against Redis (not eager).

Two free-trial sessions of one minute start together, each with its timer tasks on its own
queue:
- A's worker lives: its ETA tasks move A to `closing` at `ends_at` and to `closed` after
  the goodbye window (and the ending-soon warning task runs on the way).
- B's worker is SIGKILLed before `ends_at`, taking B's reserved ETA tasks with it; B is
  still active after its end. A new worker with beat started after `ends_at` closes B
  through the periodic sweep.
"""

import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from chat.models import Message, Session, SessionClosure, SessionEvent
from halobestie.celery import app
from halobestie.testing.fixtures import make_client, make_mitra, set_platform_settings, start_trial_session
from halobestie.testing.live import CeleryWorker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

GOODBYE = 5


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def state_of(sid) -> str:
    return Session.objects.get(pk=sid).state


@pytest.fixture
def celery_for_real(tmp_path):
    """This process sends real (ETA) tasks, routed to the queue named in `route`."""
    route = {"queue": settings.CELERY_TASK_DEFAULT_QUEUE}
    saved = {"task_always_eager": app.conf.task_always_eager, "task_routes": app.conf.task_routes}

    def router(name, args, kwargs, options, task=None, **kw):
        return {"queue": route["queue"]}

    def reset_router():
        # Celery caches its router the first time a task is sent.
        app.amqp._rtable = None
        app.amqp.__dict__.pop("router", None)

    app.conf.task_always_eager = False
    app.conf.task_routes = (router,)
    reset_router()
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        yield route
    app.conf.task_always_eager = saved["task_always_eager"]
    app.conf.task_routes = saved["task_routes"]
    reset_router()


def purge(queues) -> None:
    """Leave nothing behind in the shared Redis: the queues and the dead worker's unacked
    (reserved) messages, which would otherwise be restored into a queue nobody reads."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(*queues)
    for tag, raw in client.hscan_iter("unacked"):
        if any(q.encode() in raw for q in queues):
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


def test_sessions_reach_closing_and_closed_on_time_even_when_a_worker_dies(celery_for_real, tmp_path):
    set_platform_settings(free_trial_minutes=1, goodbye_window=GOODBYE, ending_soon_warnings="30")
    base = settings.CELERY_TASK_DEFAULT_QUEUE
    queue_a, queue_b = f"{base}-clock-a", f"{base}-clock-b"
    worker_a = CeleryWorker(queue_a, name=f"clock-a-{base}", workdir=tmp_path)
    worker_b = CeleryWorker(queue_b, name=f"clock-b-{base}", workdir=tmp_path)
    worker_b2 = CeleryWorker(queue_b, name=f"clock-b2-{base}", beat=True, workdir=tmp_path)
    try:
        worker_a.start(app)
        worker_b.start(app)

        celery_for_real["queue"] = queue_a
        sid_a = start_trial_session(make_client("Ani"), make_mitra("Budi", online=True))["id"]
        celery_for_real["queue"] = queue_b
        sid_b = start_trial_session(make_client("Citra"), make_mitra("Dina", online=True))["id"]
        a, b = Session.objects.get(pk=sid_a), Session.objects.get(pk=sid_b)
        assert a.ends_at - a.started_at == timedelta(minutes=1)
        assert a.next_warning_at == a.ends_at - timedelta(seconds=30)

        # B's worker has reserved B's timers (closing at ends_at, the warning) — then dies.
        wait_for(lambda: len(worker_b.scheduled(app)) >= 2, 20, "worker B to hold B's ETA tasks")
        worker_b.kill()
        assert timezone.now() < b.ends_at

        # A: the warning task runs 30 s before the end.
        wait_for(lambda: Session.objects.get(pk=sid_a).next_warning_at is None,
                 (a.next_warning_at - timezone.now()).total_seconds() + 15, "A's warning task")
        assert Session.objects.get(pk=sid_a).state == "active"

        # A: closing at ends_at (not before), by the ETA task.
        wait_for(lambda: state_of(sid_a) != "active", (a.ends_at - timezone.now()).total_seconds() + 15,
                 "A to reach closing")
        a.refresh_from_db()
        assert a.state == "closing", worker_a.log()
        closing_at = SessionEvent.objects.get(session=a, kind="closing").created_at
        assert closing_at >= a.ends_at
        assert a.closing_ends_at == a.ends_at + timedelta(seconds=GOODBYE)

        # B is past its end and nobody moved it: its timers died with worker B. (Started a
        # moment after A, B may end a moment later: give it that moment and a little more.)
        time.sleep(max(0.0, (b.ends_at - timezone.now()).total_seconds() + 2))
        assert state_of(sid_b) == "active"

        # A: closed after the goodbye window.
        wait_for(lambda: state_of(sid_a) == "closed",
                 (a.closing_ends_at - timezone.now()).total_seconds() + 15, "A to close")
        a.refresh_from_db()
        assert a.closed_at >= a.closing_ends_at
        closure = SessionClosure.objects.get(session=a)
        assert (closure.closed_by, closure.reason) == ("system", "time_up")
        assert list(Message.objects.filter(session=a, sender="system").order_by("seq")
                    .values_list("system_code", flat=True)) == ["session_active", "session_closing",
                                                                 "session_closed"]
        assert state_of(sid_b) == "active"

        # A new worker (with beat) after B's end: the sweep closes B.
        worker_b2.start(app)
        wait_for(lambda: state_of(sid_b) == "closed", 30, "the sweep to close B")
        b.refresh_from_db()
        closure = SessionClosure.objects.get(session=b)
        assert (closure.closed_by, closure.reason) == ("system", "time_up")
        codes = list(Message.objects.filter(session=b, sender="system").order_by("seq")
                     .values_list("system_code", flat=True))
        assert codes == ["session_active", "session_closing", "session_closed"]
        assert SessionEvent.objects.filter(session=b, kind="closed").count() == 1
        assert SessionClosure.objects.filter(session=a).count() == 1
    finally:
        for worker in (worker_a, worker_b, worker_b2):
            worker.stop()
        purge([queue_a, queue_b])
