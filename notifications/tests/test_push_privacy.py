"""Lock screens are not private: no push ever carries message text, a client's name or
alias, or the pairing topic. Drive a whole session through the real services and scan
every body firebase-admin sent to the fake FCM server."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import Session
from chat.services.lifecycle import session_end, session_send_warning
from chat.services.messages import message_send
from halobestie.testing.fixtures import make_client, make_mitra
from notifications.texts import all_texts

from .helpers import add_device, send_message

# The apps register FCM registration tokens (see notifications/push.py).
pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:Message.token is deprecated:DeprecationWarning")]

SECRET_BODY = "ZEBRA-UNGU-7731 cerita soal kantor dan atasan baru"
SECRET_NAME = "Kirana Wulandari Secretname"
SECRET_TOPIC = "TOPIK-RAHASIA-4420 masalah keluarga"
ALLOWED_DATA_KEYS = {"type", "request_id", "session_id", "message_id", "extension_id", "payment_id", "status",
                     "state"}
UUID = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def test_no_payload_ever_contains_message_text_client_name_or_topic(fake_fcm, django_capture_on_commit_callbacks):
    ani = make_client(SECRET_NAME)
    budi = make_mitra("Budi", online=True)
    ani_token, budi_token = add_device(ani, platform="ios"), add_device(budi)
    with django_capture_on_commit_callbacks(execute=True):
        r = ani.api.post("/api/client/pairing-requests", {"free_trial": True, "topic": SECRET_TOPIC}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        r = budi.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept")
    sid = r.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        send_message(ani, sid, SECRET_BODY, "c1")  # REST
        message_send(session_id=sid, sender=ani.user, client_message_id="c2", body=SECRET_BODY + " lagi")
        send_message(budi, sid, f"Halo {SECRET_NAME}, {SECRET_BODY}", "m1")
    Session.objects.filter(pk=sid).update(next_warning_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        session_send_warning(session_id=sid)
        session_end(session_id=sid, by=budi.user, reason=SECRET_BODY)

    types = sorted(m["data"]["type"] for m in fake_fcm.messages)
    assert types == sorted(["pairing_offer", "new_message", "new_message", "new_message",
                            "session_ending_soon", "session_ending_soon", "session_closed", "session_closed"])
    assert {m["token"] for m in fake_fcm.messages} == {ani_token, budi_token}

    secrets = [SECRET_BODY, "ZEBRA", SECRET_NAME, "Kirana", SECRET_TOPIC, "TOPIK", ani.user.alias,
               budi.user.phone, budi.user.display_name]
    for raw in fake_fcm.raw_bodies():
        for secret in secrets:
            assert secret not in raw
    fixed = {(t.title, t.body) for t in all_texts()}
    for message in fake_fcm.messages:
        assert (message["notification"]["title"], message["notification"]["body"]) in fixed
        assert set(message["data"]) <= ALLOWED_DATA_KEYS
        for key, value in message["data"].items():
            if key.endswith("_id"):
                assert UUID.match(value), (key, value)
