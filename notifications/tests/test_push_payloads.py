"""The exact FCM v1 request bodies firebase-admin sends for each event type."""

from __future__ import annotations

import copy
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditLog
from billing.models import Extension, Transaction
from chat.models import Session
from chat.services.lifecycle import session_activate_paid, session_end, session_send_warning
from halobestie.testing.fixtures import make_client, make_mitra
from notifications.services import notify_on_commit, send_test_push

from .fake_fcm import SEND_PATH
from .helpers import add_device, send_message, start_session

# The apps register FCM registration tokens (see notifications/push.py).
pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:Message.token is deprecated:DeprecationWarning")]


def expected(token: str, *, type: str, data: dict, title: str, body: str, channel: str,
             background: bool = False, collapse: str | None = None, thread: str | None = None) -> dict:
    """The message as FCM must receive it, spelled out by hand."""
    android_notification = {"click_action": "FLUTTER_NOTIFICATION_CLICK", "sound": "default",
                            "channel_id": channel, "visibility": "PRIVATE"}
    android = {"priority": "high", "notification": android_notification}
    apns_headers = {"apns-priority": "10", "apns-push-type": "alert"}
    if collapse:
        android_notification["tag"] = collapse
        android["collapse_key"] = collapse
        apns_headers["apns-collapse-id"] = collapse
    aps = {"sound": "default"}
    if background:
        aps["content-available"] = 1
    if thread:
        aps["thread-id"] = thread
    return {
        "token": token,
        "notification": {"title": title, "body": body},
        "data": {"type": type, **data},
        "android": android,
        "apns": {"headers": apns_headers, "payload": {"aps": aps}},
    }


def split_expiry(message: dict) -> tuple[dict, int, int]:
    """(message without its expiry fields, android ttl seconds, apns-expiration epoch)."""
    message = copy.deepcopy(message)
    ttl = message["android"].pop("ttl")
    assert ttl.endswith("s")
    expiration = int(message["apns"]["headers"].pop("apns-expiration"))
    return message, int(float(ttl[:-1])), expiration


def test_request_envelope_and_no_oauth(fake_fcm, django_capture_on_commit_callbacks):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    add_device(budi)
    with django_capture_on_commit_callbacks(execute=True):
        r = ani.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json")
    assert r.status_code == 201
    [request] = fake_fcm.requests
    assert request["path"] == SEND_PATH
    assert set(request["body"]) == {"message"}  # no validate_only: a real send
    # Emulator mode: an anonymous credential, so no OAuth token is fetched or sent.
    assert "Authorization" not in request["headers"]
    assert request["headers"]["X-Goog-Api-Format-Version"] == "2"


def test_offer(fake_fcm, django_capture_on_commit_callbacks):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    token = add_device(budi)
    with django_capture_on_commit_callbacks(execute=True):
        r = ani.api.post("/api/client/pairing-requests", {"free_trial": True, "topic": "kerjaan"},
                         format="json")
    request_id = r.json()["id"]
    [message] = fake_fcm.messages_to(token)
    message, ttl, expiration = split_expiry(message)
    assert message == expected(
        token, type="pairing_offer", data={"request_id": request_id}, title="Ada yang ingin curhat",
        body="Seseorang sedang mencari Bestie. Buka Halo Bestie untuk menerima.", channel="offers",
    )
    # The offer is worthless after the request expires (pairing_timeout, 60 s).
    assert 55 <= ttl <= 60
    assert abs(expiration - (time.time() + ttl)) <= 5


def test_new_message_both_directions(fake_fcm, django_capture_on_commit_callbacks):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    session = start_session(ani, budi)
    sid = session["id"]
    ani_token, budi_token = add_device(ani, platform="ios"), add_device(budi)
    with django_capture_on_commit_callbacks(execute=True):
        to_mitra = send_message(ani, sid, "halo", "c1")
        to_client = send_message(budi, sid, "hai juga", "m1")
    [for_budi] = fake_fcm.messages_to(budi_token)
    [for_ani] = fake_fcm.messages_to(ani_token)
    common = dict(type="new_message", title="Pesan baru", body="Kamu punya pesan baru di Halo Bestie",
                  channel="messages", collapse=f"chat-{sid}", thread=sid)
    assert for_budi == expected(budi_token, data={"session_id": sid, "message_id": to_mitra["id"]}, **common)
    assert for_ani == expected(ani_token, data={"session_id": sid, "message_id": to_client["id"]}, **common)


def test_session_started_and_payment_result(fake_fcm, django_capture_on_commit_callbacks, session_tier):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    session = start_session(ani, budi, tier=session_tier)
    assert session["state"] == "awaiting_payment"
    sid = session["id"]
    ani_token, budi_token = add_device(ani), add_device(budi, platform="ios")
    tx = Transaction.objects.get(session_id=sid, kind="session")
    with django_capture_on_commit_callbacks(execute=True):
        Transaction.objects.filter(pk=tx.pk).update(status="paid")
        tx.refresh_from_db()
        session_activate_paid(session_id=sid)
        notify_on_commit("payment_result", session=Session.objects.get(pk=sid), to=("client",), payment=tx)
    assert fake_fcm.messages_to(budi_token) == [expected(
        budi_token, type="session_started", data={"session_id": sid}, title="Sesi dimulai",
        body="Pembayaran diterima. Sesi curhat sudah dimulai.", channel="sessions", background=True, thread=sid,
    )]
    assert fake_fcm.messages_to(ani_token) == [expected(
        ani_token, type="payment_result", data={"session_id": sid, "payment_id": str(tx.id), "status": "paid"},
        title="Pembayaran berhasil", body="Pembayaran kamu sudah kami terima.", channel="sessions",
        background=True, thread=sid,
    )]


@pytest.mark.parametrize("status, title, body", [
    ("expired", "Pembayaran kedaluwarsa", "Batas waktu pembayaran sudah lewat."),
    ("failed", "Pembayaran gagal", "Pembayaran kamu tidak berhasil. Silakan coba lagi."),
])
def test_payment_result_wording_follows_status(fake_fcm, django_capture_on_commit_callbacks, session_tier,
                                               status, title, body):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_session(ani, budi, tier=session_tier)["id"]
    token = add_device(ani)
    Transaction.objects.filter(session_id=sid).update(status=status)
    with django_capture_on_commit_callbacks(execute=True):
        # Without `payment`, the session's latest transaction is the one reported.
        notify_on_commit("payment_result", session=Session.objects.get(pk=sid), to=("client",))
    [message] = fake_fcm.messages_to(token)
    assert message["notification"] == {"title": title, "body": body}
    assert message["data"]["status"] == status


def test_session_ending_soon(fake_fcm, django_capture_on_commit_callbacks):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_session(ani, budi)["id"]
    ani_token, budi_token = add_device(ani), add_device(budi)
    Session.objects.filter(pk=sid).update(next_warning_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert session_send_warning(session_id=sid) is True
    ends_in = (Session.objects.get(pk=sid).ends_at - timezone.now()).total_seconds()
    for token in (ani_token, budi_token):
        [message] = fake_fcm.messages_to(token)
        message, ttl, _ = split_expiry(message)
        assert message == expected(
            token, type="session_ending_soon", data={"session_id": sid}, title="Sesi segera berakhir",
            body="Waktu sesi curhat kamu hampir habis.", channel="sessions", background=True, thread=sid,
        )
        assert ends_in - 5 <= ttl <= ends_in + 1  # the warning is stale once the session ended


def test_session_closed_to_both_and_every_device(fake_fcm, django_capture_on_commit_callbacks):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_session(ani, budi)["id"]
    tokens = [add_device(ani, platform="ios"), add_device(ani), add_device(budi)]
    with django_capture_on_commit_callbacks(execute=True):
        session_end(session_id=sid, by=ani.user, reason="cukup")
    for token in tokens:
        assert fake_fcm.messages_to(token) == [expected(
            token, type="session_closed", data={"session_id": sid}, title="Sesi selesai",
            body="Sesi curhat kamu sudah berakhir.", channel="sessions", background=True, thread=sid,
        )]


def test_extension_requested_and_answered(fake_fcm, django_capture_on_commit_callbacks, extension_tier):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_session(ani, budi)["id"]
    ani_token, budi_token = add_device(ani), add_device(budi)
    session = Session.objects.get(pk=sid)
    extension = Extension.objects.create(session=session, tier=extension_tier, minutes=15, price=25000,
                                         respond_by=timezone.now() + timedelta(seconds=60))
    with django_capture_on_commit_callbacks(execute=True):
        notify_on_commit("extension_requested", session=session, to=("mitra",), extension=extension)
    [requested] = fake_fcm.messages_to(budi_token)
    requested, ttl, _ = split_expiry(requested)
    assert requested == expected(
        budi_token, type="extension_requested", data={"session_id": sid, "extension_id": str(extension.id)},
        title="Permintaan perpanjangan", body="Ada permintaan perpanjangan sesi. Jawab sebelum waktunya habis.",
        channel="sessions", background=True, thread=sid,
    )
    assert 55 <= ttl <= 60  # the mitra must answer within extension_timeout

    Extension.objects.filter(pk=extension.pk).update(state="accepted")
    with django_capture_on_commit_callbacks(execute=True):
        notify_on_commit("extension_answered", session=session, to=("client",))
    assert fake_fcm.messages_to(ani_token) == [expected(
        ani_token, type="extension_answered",
        data={"session_id": sid, "extension_id": str(extension.id), "state": "accepted"},
        title="Perpanjangan disetujui",
        body="Bestie kamu setuju memperpanjang sesi. Selesaikan pembayaran untuk lanjut.",
        channel="sessions", background=True, thread=sid,
    )]


def test_staff_test_push_is_audited_and_sent(fake_fcm, django_capture_on_commit_callbacks,
                                             django_user_model):
    staff = django_user_model.objects.create_user("ops@halobestie.local", "ops@halobestie.local", "pw",
                                                  is_staff=True)
    budi = make_mitra("Budi")
    token = add_device(budi, platform="ios")
    device = budi.user.devices.get()
    with django_capture_on_commit_callbacks(execute=True):
        result = send_test_push(device_id=device.pk, actor=staff)
    assert result == {"device_id": device.pk, "platform": "ios", "queued": True}
    assert fake_fcm.messages_to(token) == [expected(
        token, type="test", data={}, title="Tes notifikasi", body="Notifikasi Halo Bestie berfungsi dengan baik.",
        channel="sessions",
    )]
    audit = AuditLog.objects.get(action="device.test_push")
    assert (audit.actor, audit.target_type, audit.target_id) == (staff, "device", str(device.pk))
    assert token not in str(audit.after)


def test_unknown_device_for_test_push(django_user_model):
    from halobestie.errors import ApplicationError

    staff = django_user_model.objects.create_user("ops2", "ops2@halobestie.local", "pw", is_staff=True)
    with pytest.raises(ApplicationError) as err:
        send_test_push(device_id=987654, actor=staff)
    assert err.value.code == "not_found"
    assert not AuditLog.objects.filter(action="device.test_push").exists()
