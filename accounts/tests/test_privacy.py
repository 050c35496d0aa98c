"""UU PDP: export, account deletion (anonymised history, transactions kept), retention."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Client
from chat.models import Message, Session
from chat.services import lifecycle
from chat.services.privacy import PURGED_BODY

pytestmark = pytest.mark.django_db


def _trial_session(client, mitra) -> Session:
    r = client.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json")
    r = mitra.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept")
    return Session.objects.get(pk=r.json()["id"])


def test_export_contains_profile_sessions_and_messages(client_ani, mitra_budi):
    session = _trial_session(client_ani, mitra_budi)
    client_ani.api.post(f"/api/client/sessions/{session.id}/messages", {"client_message_id": "a", "body": "cerita"},
                        format="json")
    data = client_ani.api.get("/api/client/me/export").json()
    assert data["client"]["id"] == str(client_ani.id)
    assert data["sessions"][0]["id"] == str(session.id)
    assert [m["body"] for m in data["sessions"][0]["messages"] if m["sender"] == "client"] == ["cerita"]


def test_delete_refused_during_a_live_session(client_ani, mitra_budi):
    _trial_session(client_ani, mitra_budi)
    r = client_ani.api.delete("/api/client/me")
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert Client.objects.get(pk=client_ani.id).deleted_at is None


def test_delete_anonymises_and_keeps_the_session_record(client_ani, mitra_budi):
    session = _trial_session(client_ani, mitra_budi)
    client_ani.api.post(f"/api/client/sessions/{session.id}/messages", {"client_message_id": "a", "body": "rahasia"},
                        format="json")
    lifecycle.session_end(session_id=session.pk, by=client_ani.user)
    assert client_ani.api.delete("/api/client/me").status_code == 204
    client = Client.objects.get(pk=client_ani.id)
    assert client.deleted_at and client.display_name == "" and client.firebase_uid.startswith("deleted:")
    assert not Message.objects.filter(body="rahasia").exists()
    assert Message.objects.get(session=session, sender="client").body == PURGED_BODY
    assert Session.objects.filter(pk=session.pk).exists()
    # The old token no longer reaches the deleted account; a new sign-in is a new client.
    r = client_ani.api.get("/api/client/me")
    assert r.status_code == 200 and r.json()["id"] != str(client_ani.id)


def test_purge_expired_blanks_old_text_only(client_ani, mitra_budi):
    session = _trial_session(client_ani, mitra_budi)
    client_ani.api.post(f"/api/client/sessions/{session.id}/messages", {"client_message_id": "a", "body": "lama"},
                        format="json")
    lifecycle.session_end(session_id=session.pk, by=client_ani.user)
    Message.objects.filter(body="lama").update(created_at=timezone.now() - timedelta(days=400))
    call_command("purge_expired")
    old = Message.objects.get(session=session, sender="client")
    assert old.body == PURGED_BODY and old.body_purged_at is not None
    assert Message.objects.filter(session=session, sender="system").exclude(body=PURGED_BODY).exists()
