"""Logs never hold message text, tokens or phone numbers — even at DEBUG.

A full session runs against a live server whose every logger is at DEBUG (LOG_LEVEL),
with its output captured, while this process's root logger also records everything at
DEBUG: sign-ins (a Firebase token each, the mitra's by phone), devices, a pairing request
with a topic, accept, messages over the socket and over REST with distinctive bodies,
receipts, typing, an extension paid through the webhook, the end, feedback, a refused
token and a refused device. Then both logs are searched for every secret of the run.

And production's format: JSON lines carrying the request id (X-Request-ID in, out and in
every line a request causes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import httpx
import pytest
from django.conf import settings

from accounts.services import mitra_create
from billing.models import Tier, Transaction
from billing.tests.helpers import WEBHOOK, xendit_payload
from halobestie.logging import JsonFormatter, RequestIdFilter
from halobestie.testing.live import WsClient
from halobestie.testing.tokens import mint_id_token
from reliability.faults import CapturingServer
from reliability.figures import record

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = "+6281377712345"
BODY_SOCKET = "RAHASIA-ZEBRA-7781 aku tidak bisa tidur"
BODY_REST = "RAHASIA-KOALA-3319 terima kasih sudah mendengar"
TOPIC = "RAHASIA-TOPIK-5521 masalah keluarga"
COMMENT = "RAHASIA-ULASAN-9043 sangat membantu"


# This test's own HTTP and WebSocket clients log, at DEBUG, the requests they send (the
# bearer header included): that is the test talking, not the product.
TEST_CLIENT_LOGGERS = ("websockets.client", "httpx", "httpcore")


class Everything(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record):
        if record.name.startswith(TEST_CLIENT_LOGGERS):
            return
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a broken record is not this test's subject
            self.lines.append(repr(record.__dict__))


@pytest.fixture
def debug_logs():
    handler = Everything()
    root = logging.getLogger()
    old = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old)


def test_a_full_session_leaves_no_secret_in_the_logs(debug_logs):
    Tier.objects.create(kind="extension", name="Tambah 15", minutes=15, price=25000)
    mitra = mitra_create(phone=PHONE, display_name="Budi", actor=None)
    client_token = mint_id_token("logs-client-uid", provider="google.com", email="ani@example.com", name="Ani")
    mitra_token = mint_id_token(f"logs-mitra-{uuid.uuid4().hex[:8]}", provider="phone", phone=PHONE)
    fcm_client, fcm_mitra = f"fcmRAHASIA{uuid.uuid4().hex}", f"fcmRAHASIA{uuid.uuid4().hex}"
    server = CapturingServer(env={"LOG_LEVEL": "DEBUG"}).start()
    try:
        asyncio.run(_full_session(server, client_token, mitra_token, fcm_client, fcm_mitra))
    finally:
        server.stop()
    mitra.refresh_from_db()
    assert mitra.firebase_uid.startswith("logs-mitra-")

    server_log = server.output()
    own_log = "\n".join(debug_logs.lines)
    assert " DEBUG " in server_log and own_log, "the logs were captured, at DEBUG"
    secrets = {
        "socket message text": BODY_SOCKET.split()[0],
        "REST message text": BODY_REST.split()[0],
        "topic": TOPIC.split()[0],
        "feedback comment": COMMENT.split()[0],
        "client token": client_token,
        "mitra token": mitra_token,
        "client token payload": client_token.split(".")[1][:40],
        "mitra token payload": mitra_token.split(".")[1][:40],
        "phone (E.164)": PHONE,
        "phone (digits)": PHONE.lstrip("+"),
        "phone (local)": "0" + PHONE[3:],
        "client FCM token": fcm_client,
        "mitra FCM token": fcm_mitra,
        "Xendit callback token": settings.XENDIT_CALLBACK_TOKEN,
    }
    leaks = [
        f"{what} in the {where} log"
        for what, secret in secrets.items()
        for where, text in (("server", server_log), ("test process", own_log))
        if secret in text
    ]
    assert not leaks, leaks
    record(
        "log hygiene",
        f"{len(server_log.splitlines()) + len(debug_logs.lines)} DEBUG log lines of a full "
        f"session searched for {len(secrets)} secrets: none found",
    )


async def _full_session(server, client_token, mitra_token, fcm_client, fcm_mitra):
    as_client = {"Authorization": f"Bearer {client_token}"}
    as_mitra = {"Authorization": f"Bearer {mitra_token}"}
    async with httpx.AsyncClient(base_url=server.http_url, timeout=15) as http:

        async def ok(method, path, headers, expect=(200, 201, 204), **kw):
            r = await http.request(method, path, headers=headers, **kw)
            assert r.status_code in expect, f"{method} {path}: {r.status_code} {r.text}"
            return r.json() if r.content else None

        await ok("POST", "/api/client/auth/session", as_client, json={"display_name": "Ani"})
        await ok("POST", "/api/mitra/auth/session", as_mitra)
        await ok("PUT", "/api/mitra/presence", as_mitra, json={"status": "online"})
        await ok("POST", "/api/shared/devices", as_client, json={"fcm_token": fcm_client, "platform": "android"})
        await ok("POST", "/api/shared/devices", as_mitra, json={"fcm_token": fcm_mitra, "platform": "ios"})
        mitra_ws = await WsClient(f"{server.ws_url}/ws/mitra/", mitra_token).connect()
        request = await ok("POST", "/api/client/pairing-requests", as_client, json={"free_trial": True, "topic": TOPIC})
        await mitra_ws.wait_event("pairing.offer", id=request["id"])
        await ok("GET", "/api/mitra/pairing-requests", as_mitra)
        session = await ok("POST", f"/api/mitra/pairing-requests/{request['id']}/accept", as_mitra)
        sid = session["id"]
        client_ws = await WsClient(f"{server.ws_url}/ws/client/", header_auth=False, token=client_token).connect()
        sent = await client_ws.request(
            "message.send", {"session_id": sid, "client_message_id": "c1", "body": BODY_SOCKET}
        )
        assert sent["type"] == "ack", sent
        await mitra_ws.wait_event("message.new", id=sent["data"]["id"])
        await mitra_ws.request("message.delivered", {"session_id": sid, "message_ids": [sent["data"]["id"]]})
        await mitra_ws.request("message.read", {"session_id": sid, "up_to": sent["data"]["id"]})
        await mitra_ws.request("typing", {"session_id": sid, "is_typing": True})
        reply = await ok(
            "POST", f"/api/mitra/sessions/{sid}/messages", as_mitra, json={"client_message_id": "m1", "body": BODY_REST}
        )
        await client_ws.wait_event("message.new", id=reply["id"])
        await ok("GET", f"/api/client/sessions/{sid}/messages", as_client)
        tier = await ok("GET", "/api/client/pricing", as_client)
        ext = await ok(
            "POST",
            f"/api/client/sessions/{sid}/extensions",
            as_client,
            json={"tier_id": tier["extension_tiers"][0]["id"]},
        )
        await ok("POST", f"/api/mitra/sessions/{sid}/extensions/{ext['id']}/accept", as_mitra)
        tx = await asyncio.to_thread(lambda: Transaction.objects.get(extension_id=ext["id"]))
        paid = await http.post(
            WEBHOOK, json=xendit_payload(tx), headers={"x-callback-token": settings.XENDIT_CALLBACK_TOKEN}
        )
        assert paid.json()["result"] == "paid", paid.text
        await ok("GET", f"/api/client/sessions/{sid}/transcript", as_client)
        await ok("POST", f"/api/client/sessions/{sid}/end", as_client, json={"reason": "cukup"})
        await ok("POST", f"/api/client/sessions/{sid}/feedback", as_client, json={"rating": 5, "comment": COMMENT})
        # Refusals log too: a forged token, someone else's device, a bad callback token.
        await ok("GET", "/api/client/me", {"Authorization": f"Bearer {client_token}x"}, expect=(401,))
        await ok("DELETE", f"/api/shared/devices/{fcm_mitra}", as_client, expect=(404,))
        await ok("DELETE", f"/api/shared/devices/{fcm_client}", as_client, expect=(204,))
        await http.post(WEBHOOK, json=xendit_payload(tx), headers={"x-callback-token": "wrong"})
        await client_ws.close()
        await mitra_ws.close()


def test_the_json_formatter_carries_the_request_id():
    """Production's formatter (LOG_FORMAT=json) with the filter the LOGGING config sets;
    test_production_posture shows it end to end on a server with production settings."""
    from halobestie.logging import request_id_var

    token = request_id_var.set("rid-1234567890")
    try:
        log_record = logging.LogRecord("chat", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        RequestIdFilter().filter(log_record)
    finally:
        request_id_var.reset(token)
    data = json.loads(JsonFormatter().format(log_record))
    assert data["msg"] == "hello world" and data["request_id"] == "rid-1234567890" and data["level"] == "INFO"
