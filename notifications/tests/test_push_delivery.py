"""Delivery through the real Celery task and firebase-admin: batching, retries with
back-off on transient FCM errors, removal of dead tokens, on_commit, the log backend."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from celery import signals
from django.db import transaction
from django.utils import timezone

from accounts.models import Mitra
from chat.models import Session
from halobestie.realtime import mitra_group
from halobestie.sockets import registry
from halobestie.testing.fixtures import make_client, make_mitra
from halobestie.testing.live import free_port
from notifications import tasks
from notifications.models import Device
from notifications.services import notify_on_commit
from pairing.models import MitraPresence

from .helpers import add_device, fcm_token, send_message, start_session

# The apps register FCM registration tokens (see notifications/push.py).
pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:Message.token is deprecated:DeprecationWarning")]


@pytest.fixture
def retries():
    """Every retry the push task asks Celery for (Celery's own task_retry signal)."""
    seen = []

    def on_retry(sender=None, request=None, reason=None, **kw):
        if getattr(sender, "name", None) == tasks.push_send.name:
            seen.append(reason)

    signals.task_retry.connect(on_retry, weak=False)
    yield seen
    signals.task_retry.disconnect(on_retry)


def _closed_session_push(session_id: str) -> None:
    notify_on_commit("session_closed", session=Session.objects.get(pk=session_id), to=("client", "mitra"))


@pytest.fixture
def session_pair(db):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    return ani, budi, start_session(ani, budi)["id"]


def test_offer_blast_to_600_mitras_is_one_task_in_two_batches(fake_fcm, django_capture_on_commit_callbacks,
                                                              caplog):
    now = timezone.now()
    mitras = Mitra.objects.bulk_create(
        [Mitra(phone=f"+6281990{i:05d}", display_name=f"Mitra {i}") for i in range(600)])
    MitraPresence.objects.bulk_create(
        [MitraPresence(mitra=m, status="online", since=now, last_heartbeat_at=now) for m in mitras])
    tokens = {fcm_token(f"m{i}") for i in range(600)}
    Device.objects.bulk_create([Device(fcm_token=t, platform="android", mitra=m) for t, m in zip(tokens, mitras, strict=True)])
    ani = make_client("Ani")
    caplog.set_level(logging.DEBUG, logger="notifications.push")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        r = ani.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json")
    assert r.status_code == 201
    queued = [c for c in callbacks if c.__qualname__.endswith("_queue_on_commit.<locals>.queue")]
    assert len(queued) == 1  # one task for the whole blast
    messages = fake_fcm.messages
    assert len(messages) == 600
    assert {m["token"] for m in messages} == tokens  # each device exactly once
    assert {m["data"]["request_id"] for m in messages} == {r.json()["id"]}
    records = [rec for rec in caplog.records if rec.getMessage().startswith("push batch:")]
    batches = [rec.getMessage() for rec in records]
    assert [b.split(" devices=")[1].split(" ")[0] for b in batches] == ["500", "100"]
    # Routine deliveries are DEBUG: production (INFO) logs no line per push.
    assert {rec.levelno for rec in records} == {logging.DEBUG}


def test_503_is_retried_by_the_task_for_the_failed_device_only(fake_fcm, django_capture_on_commit_callbacks,
                                                               session_pair, retries):
    ani, budi, sid = session_pair
    flaky, healthy = add_device(budi), add_device(ani)
    fake_fcm.plan(flaky, "unavailable")
    with django_capture_on_commit_callbacks(execute=True):
        _closed_session_push(sid)
    assert len(retries) == 1
    assert len(fake_fcm.messages_to(flaky)) == 2  # 503, then the retry succeeded
    assert fake_fcm.messages_to(flaky)[0] == fake_fcm.messages_to(flaky)[1]
    assert len(fake_fcm.messages_to(healthy)) == 1  # not sent twice
    assert retries[0].when >= 3.75  # back-off: 5 s ± 25 % on the first retry
    assert Device.objects.filter(fcm_token=flaky).exists()


@pytest.mark.parametrize("answer", ["internal", "quota"])
def test_other_transient_errors_are_retried(fake_fcm, django_capture_on_commit_callbacks, session_pair, retries,
                                            answer):
    ani, budi, sid = session_pair
    token = add_device(budi)
    fake_fcm.plan(token, answer, answer)
    with django_capture_on_commit_callbacks(execute=True):
        _closed_session_push(sid)
    assert len(fake_fcm.messages_to(token)) == 3
    assert len(retries) == 2
    if answer == "quota":
        assert all(r.when >= 7 for r in retries)  # FCM's Retry-After: 7 is honoured


def test_gives_up_after_max_retries_and_keeps_the_token(fake_fcm, django_capture_on_commit_callbacks,
                                                        session_pair, retries):
    ani, budi, sid = session_pair
    token = add_device(budi)
    fake_fcm.plan(token, *["unavailable"] * 20)
    with django_capture_on_commit_callbacks(execute=True):
        _closed_session_push(sid)
    assert len(retries) == tasks.MAX_RETRIES
    assert len(fake_fcm.messages_to(token)) == 1 + tasks.MAX_RETRIES
    assert Device.objects.filter(fcm_token=token).exists()


def test_unreachable_fcm_is_retried(settings, django_capture_on_commit_callbacks, session_pair, retries):
    ani, budi, sid = session_pair
    add_device(budi)
    settings.PUSH_BACKEND = "fcm"
    settings.FCM_BASE_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True):
        _closed_session_push(sid)
    assert len(retries) == tasks.MAX_RETRIES
    assert budi.user.devices.count() == 1


def test_dead_tokens_are_removed_and_others_kept(fake_fcm, django_capture_on_commit_callbacks, session_pair,
                                                 retries):
    ani, budi, sid = session_pair
    tokens = {answer: add_device(budi) for answer in
              ("unregistered", "invalid_token", "sender_mismatch", "invalid_payload", "apns_auth")}
    healthy = add_device(ani)
    for answer, token in tokens.items():
        fake_fcm.plan(token, answer)
    with django_capture_on_commit_callbacks(execute=True):
        _closed_session_push(sid)
    remaining = set(Device.objects.values_list("fcm_token", flat=True))
    # UNREGISTERED, an invalid token and a token of another sender never work again.
    assert remaining == {tokens["invalid_payload"], tokens["apns_auth"], healthy}
    # Permanent errors that are not the token's fault are neither removed nor retried.
    assert retries == []
    assert len(fake_fcm.messages) == 6


def test_a_rolled_back_change_pushes_nothing(fake_fcm, django_capture_on_commit_callbacks, session_pair):
    ani, budi, sid = session_pair
    add_device(budi)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            _closed_session_push(sid)
            raise RuntimeError("rolled back")
    assert callbacks == []
    assert fake_fcm.messages == []


def test_no_new_message_push_while_the_recipient_has_a_live_socket(fake_fcm, django_capture_on_commit_callbacks,
                                                                    session_pair):
    ani, budi, sid = session_pair
    token = add_device(budi)
    group = mitra_group(budi.id)
    async_to_sync(registry.touch)(group, "test-channel-1")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            send_message(ani, sid, "halo", "c1")
        assert fake_fcm.messages_to(token) == []
    finally:
        async_to_sync(registry.remove)(group, "test-channel-1")
    with django_capture_on_commit_callbacks(execute=True):
        send_message(ani, sid, "masih di sana?", "c2")
    assert [m["data"]["type"] for m in fake_fcm.messages_to(token)] == ["new_message"]


def test_stale_offer_and_late_pushes_are_dropped(fake_fcm, django_capture_on_commit_callbacks):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    token = add_device(budi)
    r = ani.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json")  # on_commit not run
    request_id = r.json()["id"]
    assert ani.api.post(f"/api/client/pairing-requests/{request_id}/cancel").status_code == 200
    expires = (timezone.now() + timedelta(seconds=50)).isoformat()
    result = tasks.push_send.apply(kwargs={"event": "pairing_offer", "data": {"request_id": request_id},
                                           "mitra_ids": [str(budi.id)], "expires_at": expires}).get()
    assert result["skipped"] == "no_devices"  # the offer is no longer open
    past = (timezone.now() - timedelta(seconds=1)).isoformat()
    result = tasks.push_send.apply(kwargs={"event": "session_ending_soon", "data": {"session_id": "x"},
                                           "mitra_ids": [str(budi.id)], "expires_at": past}).get()
    assert result["skipped"] == "expired"
    assert fake_fcm.messages_to(token) == []


def test_log_backend_logs_only_type_and_device_count(settings, django_capture_on_commit_callbacks,
                                                     session_pair, caplog):
    assert settings.PUSH_BACKEND == "log"  # the test/embedded default
    ani, budi, sid = session_pair
    tokens = [add_device(budi), add_device(budi, platform="ios")]
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        send_message(ani, sid, "rahasia banget isi pesan ini", "c1")
    lines = [rec.getMessage() for rec in caplog.records]
    assert "push (log backend): type=new_message devices=2" in lines
    everything = "\n".join(lines)
    assert "rahasia" not in everything and "Pesan baru" not in everything
    assert not any(t in everything for t in tokens)


def test_a_retry_skips_a_token_that_moved_to_another_user(fake_fcm, session_pair):
    ani, budi, sid = session_pair
    token = add_device(ani)
    device = ani.user.devices.get()
    citra = make_client("Citra")
    Device.objects.filter(pk=device.pk).update(client=citra.user)  # Citra signed in on that phone
    result = tasks.push_send.apply(kwargs={"event": "session_closed", "data": {"session_id": sid},
                                           "client_ids": [str(ani.id)], "device_ids": [device.pk]}).get()
    assert result["skipped"] == "no_devices"
    assert fake_fcm.messages_to(token) == []
