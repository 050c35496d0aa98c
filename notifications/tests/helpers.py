"""Small builders for the push tests: device tokens, devices, sessions through the real API."""

from __future__ import annotations

import secrets

from notifications.models import Device


def fcm_token(label: str = "dev") -> str:
    """Shaped like an FCM registration token: '<instance id>:APA91b<base64url>'."""
    return f"{label}{secrets.token_hex(6)}:APA91b{secrets.token_urlsafe(105)}"


def add_device(actor, *, platform: str = "android", token: str | None = None) -> str:
    token = token or fcm_token(actor.user.display_name.lower())
    owner = {"client": actor.user} if actor.user.role == "client" else {"mitra": actor.user}
    Device.objects.create(fcm_token=token, platform=platform, **owner)
    return token


def start_session(client, mitra, *, tier=None, topic: str = "") -> dict:
    """Pairing request by the client, accepted by the mitra; returns the session dict."""
    body = {"tier_id": str(tier.id)} if tier else {"free_trial": True}
    if topic:
        body["topic"] = topic
    r = client.api.post("/api/client/pairing-requests", body, format="json")
    assert r.status_code == 201, r.json()
    r = mitra.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept")
    assert r.status_code == 201, r.json()
    return r.json()


def send_message(actor, session_id: str, body: str, client_message_id: str) -> dict:
    role = actor.user.role
    r = actor.api.post(f"/api/{role}/sessions/{session_id}/messages",
                       {"client_message_id": client_message_id, "body": body}, format="json")
    assert r.status_code == 201, r.json()
    return r.json()
