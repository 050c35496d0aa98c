"""SIGKILL the Celery worker in the middle of the sweep: every overdue transition still
happens, exactly once.

Five things are overdue at once: an active session past `ends_at`, a closing session
past its goodbye window, a pending extension past `respond_by`, an unpaid session past
its payment deadline, and an accepted extension whose payment expired. Worker 1 takes
the sweep; the test holds a row lock on one session so the worker is caught inside the
sweep's transaction, and kills it there (SIGKILL: no cleanup, no ack). The message stays
unacked in Redis (acks_late) — and would only come back after the broker's visibility
timeout, an hour — yet a new worker with beat performs every transition within seconds,
because the deadlines are rows and the sweep is periodic. Counts of closures, timeline
events and system messages prove nothing happened twice, including what worker 1 had
already committed before it died.
"""

from __future__ import annotations

import warnings
from collections import Counter
from datetime import timedelta

import psycopg
import pytest
from celery.exceptions import AlwaysEagerIgnored
from django.conf import settings
from django.db import connection
from django.utils import timezone

from billing.models import Extension, Tier, Transaction
from chat.models import Message, Session, SessionClosure, SessionEvent
from halobestie.celery import app
from halobestie.testing.fixtures import make_client, make_mitra, start_trial_session
from halobestie.testing.live import CeleryWorker
from halobestie.timers import run_sweep
from reliability.faults import purge_celery_queues, wait_until
from reliability.figures import record

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_celery_is_configured_to_survive_a_dying_worker():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    sweep = [e for e in app.conf.beat_schedule.values() if e["task"] == "halobestie.timers.sweep"]
    assert sweep and sweep[0]["schedule"] <= 10  # the clock's resolution is the sweep's period
    assert "halobestie.timers.sweep" in app.tasks


def _paid_session(client, mitra, tier) -> str:
    r = client.api.post("/api/client/pairing-requests", {"tier_id": str(tier.id)}, format="json")
    assert r.status_code == 201, r.content
    r = mitra.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept")
    assert r.status_code == 201, r.content
    return r.json()["id"]


def _with_extension(client, mitra, tier, *, accept: bool) -> tuple[str, str]:
    sid = start_trial_session(client, mitra)["id"]
    r = client.api.post(f"/api/client/sessions/{sid}/extensions", {"tier_id": str(tier.id)}, format="json")
    assert r.status_code == 201, r.content
    ext_id = r.json()["id"]
    if accept:
        r = mitra.api.post(f"/api/mitra/sessions/{sid}/extensions/{ext_id}/accept")
        assert r.status_code == 200, r.content
    return sid, ext_id


def test_worker_killed_mid_sweep_every_overdue_transition_happens_once(tmp_path):
    session_tier = Tier.objects.create(kind="session", name="Curhat 30", minutes=30, price=50000)
    extension_tier = Tier.objects.create(kind="extension", name="Tambah 15", minutes=15, price=25000)
    past = timezone.now() - timedelta(seconds=5)

    ends = start_trial_session(make_client("Ani"), make_mitra("Budi", online=True))["id"]
    Session.objects.filter(pk=ends).update(ends_at=past, next_warning_at=None)
    goodbye = start_trial_session(make_client("Citra"), make_mitra("Dina", online=True))["id"]
    Session.objects.filter(pk=goodbye).update(state="closing", ends_at=past, closing_ends_at=past, next_warning_at=None)
    unpaid = _paid_session(make_client("Eka"), make_mitra("Fajar", online=True), session_tier)
    Session.objects.filter(pk=unpaid).update(payment_due_at=past)
    Transaction.objects.filter(session_id=unpaid).update(expires_at=past)
    asked_sid, asked_ext = _with_extension(
        make_client("Gita"), make_mitra("Hadi", online=True), extension_tier, accept=False
    )
    Extension.objects.filter(pk=asked_ext).update(respond_by=past)
    owing_sid, owing_ext = _with_extension(
        make_client("Indah"), make_mitra("Joko", online=True), extension_tier, accept=True
    )
    Transaction.objects.filter(extension_id=owing_ext).update(expires_at=past)

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-kill"
    first = CeleryWorker(queue, name=f"kill-1-{queue}", workdir=tmp_path)
    second = CeleryWorker(queue, name=f"kill-2-{queue}", beat=True, workdir=tmp_path)
    db = connection.settings_dict
    locker = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"] or "postgres",
        dbname=db["NAME"],
        password=db["PASSWORD"] or None,
        autocommit=False,
    )
    try:
        # Hold the row the sweep must update to move `ends` to closing.
        locker.execute("SELECT id FROM chat_session WHERE id = %s FOR UPDATE", [ends])
        first.start(app)
        with warnings.catch_warnings():
            # This process is eager (tests); the sweep goes to the real worker all the same.
            warnings.simplefilter("ignore", AlwaysEagerIgnored)
            app.send_task("halobestie.timers.sweep", queue=queue)
        try:
            wait_until(_waiting_on_a_lock, 30, "worker 1 to block inside the sweep")
        except AssertionError:
            raise AssertionError(
                f"worker 1 never blocked in the sweep; queued {_queued(queue)}; its log:\n{first.log()[-3000:]}"
            ) from None
        # What worker 1 committed before it blocked: the unpaid session's cancellation.
        wait_until(lambda: Session.objects.get(pk=unpaid).state == "cancelled", 10, "worker 1's first commit")
        first.kill()
        locker.rollback()
        assert first.proc.returncode == -9
        # Acks late: the killed task was never acknowledged; it is still the broker's.
        unacked = _unacked_for(queue)
        assert unacked >= 1
        # Nothing of the killed transaction landed.
        assert Session.objects.get(pk=ends).state == "active"
        assert not SessionEvent.objects.filter(session_id=ends, kind="closing").exists()

        second.start(app)
        wait_until(
            lambda: _all_done(ends, goodbye, unpaid, asked_ext, owing_ext),
            40,
            "the new worker's sweep to perform every overdue transition",
        )
        # More sweeps (beat's, and two by hand) find nothing left to do.
        assert sum(run_sweep().values()) == 0
        assert sum(run_sweep().values()) == 0
    finally:
        locker.close()
        first.kill()
        second.stop()
        purge_celery_queues(settings.CELERY_BROKER_URL, [queue])

    def system_codes(sid):
        return Counter(Message.objects.filter(session_id=sid, sender="system").values_list("system_code", flat=True))

    def events(sid):
        return Counter(SessionEvent.objects.filter(session_id=sid).values_list("kind", flat=True))

    assert Session.objects.get(pk=ends).state == "closing"
    assert events(ends)["closing"] == 1 and system_codes(ends)["session_closing"] == 1
    assert Session.objects.get(pk=goodbye).state == "closed"
    assert SessionClosure.objects.filter(session_id=goodbye).count() == 1
    assert events(goodbye)["closed"] == 1 and system_codes(goodbye)["session_closed"] == 1
    assert SessionClosure.objects.filter(session_id=unpaid).count() == 1
    assert events(unpaid)["cancelled"] == 1 and system_codes(unpaid)["session_cancelled"] == 1
    assert Transaction.objects.get(session_id=unpaid, kind="session").status == "expired"
    assert Extension.objects.get(pk=asked_ext).state == "expired"
    assert system_codes(asked_sid)["extension_expired"] == 1
    assert Extension.objects.get(pk=owing_ext).state == "cancelled"
    assert Transaction.objects.get(extension_id=owing_ext).status == "expired"
    assert system_codes(owing_sid)["extension_payment_expired"] == 1
    record(
        "Celery worker SIGKILL",
        f"worker killed inside the sweep's transaction with {unacked} task unacked; "
        "a new worker performed all 5 overdue transitions exactly once",
    )


def _waiting_on_a_lock() -> bool:
    # Asked on the test's own (autocommit) connection: inside the locker's transaction
    # pg_stat_activity would be a snapshot frozen at its first read.
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cur.fetchone()[0] > 0


def _queued(queue: str) -> dict:
    import json

    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return {
        "waiting": [json.loads(raw)["headers"].get("task") for raw in client.lrange(queue, 0, -1)],
        "unacked": [
            json.loads(raw)[0]["headers"].get("task")
            for _, raw in client.hscan_iter("unacked")
            if queue.encode() in raw
        ],
    }


def _unacked_for(queue: str) -> int:
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return sum(1 for _, raw in client.hscan_iter("unacked") if queue.encode() in raw)


def _all_done(ends, goodbye, unpaid, asked_ext, owing_ext) -> bool:
    return (
        Session.objects.get(pk=ends).state == "closing"
        and Session.objects.get(pk=goodbye).state == "closed"
        and Session.objects.get(pk=unpaid).state == "cancelled"
        and Extension.objects.get(pk=asked_ext).state == "expired"
        and Extension.objects.get(pk=owing_ext).state == "cancelled"
    )
