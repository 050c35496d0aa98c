"""Production posture, on running servers (halobestie/tests/test_production_settings.py
covers `check --deploy` and the refusals to start).

- The real production settings, serving: HTTPS redirect (health exempt, for the load
  balancer), HSTS, no-store on API answers, JSON logs carrying the request id.
- Channel-layer payloads are encrypted in Redis when CHANNEL_ENCRYPTION_KEYS is set: a
  live server on a private Redis relays a chat message between two sockets while a raw
  Redis subscriber reads every byte published; the text never appears there.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid

import httpx
import pytest
import redis
from channels_redis.pubsub import RedisPubSubChannelLayer
from cryptography.fernet import Fernet
from django.conf import settings

from billing.models import PaymentIncident
from billing.tests.helpers import WEBHOOK
from halobestie.testing.fixtures import make_client, make_mitra, start_trial_session
from halobestie.testing.live import WsClient
from reliability.faults import CapturingServer, PrivateRedis, wait_until
from reliability.figures import record

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SECRET_TEXT = "RAHASIA-KANAL-4471 jangan sampai terbaca"


class RawSubscriber:
    """Every message published on the Redis, as bytes, via PSUBSCRIBE *."""

    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url)
        self.pubsub = self.client.pubsub()
        self.pubsub.psubscribe("*")
        wait_until(lambda: self.pubsub.get_message(timeout=0.1) is not None, 5, "the subscription")
        self.seen: list[tuple[bytes, bytes]] = []

    def drain(self) -> list[tuple[bytes, bytes]]:
        while (message := self.pubsub.get_message(timeout=0.2)) is not None:
            if message["type"] == "pmessage":
                self.seen.append((message["channel"], message["data"]))
        return self.seen

    def close(self):
        self.pubsub.close()
        self.client.close()


def test_channel_layer_payloads_are_encrypted_in_redis():
    private = PrivateRedis().start()
    key = Fernet.generate_key().decode()
    raw = RawSubscriber(private.url)
    server = CapturingServer(env={"REDIS_URL": private.url, "CHANNEL_ENCRYPTION_KEYS": key}).start()
    try:
        client, mitra = make_client("Ani"), make_mitra("Budi", online=True)
        sid = start_trial_session(client, mitra)["id"]

        async def chat():
            client_ws = await WsClient(f"{server.ws_url}/ws/client/", client.token).connect()
            mitra_ws = await WsClient(f"{server.ws_url}/ws/mitra/", mitra.token).connect()
            ack = await client_ws.request(
                "message.send", {"session_id": sid, "client_message_id": "enc-1", "body": SECRET_TEXT}
            )
            assert ack["type"] == "ack", ack
            # Through Redis and back: the other side's server decrypts it.
            event = await mitra_ws.wait_event("message.new", id=ack["data"]["id"])
            assert event["data"]["body"] == SECRET_TEXT
            await client_ws.close()
            await mitra_ws.close()

        asyncio.run(chat())
        published = raw.drain()
        groups = [data for channel, data in published if b"__group__" in channel]
        assert groups, f"the raw subscriber saw the group traffic: {[c for c, _ in published][:5]}"
        assert not [1 for _, data in published if SECRET_TEXT.encode() in data or b"RAHASIA" in data]
        assert all(data.startswith(b"gAAAA") or b"gAAAA" in data[:64] for data in groups)  # Fernet tokens
    finally:
        server.stop()
        raw.close()
        private.cleanup()

    # The control: the same layer without a key puts the text on the wire as it is, so the
    # subscriber above would have seen it.
    private = PrivateRedis().start()
    raw = RawSubscriber(private.url)
    try:

        async def plain():
            layer = RedisPubSubChannelLayer(hosts=[private.url], prefix=f"ctl{uuid.uuid4().hex[:6]}")
            channel = await layer.new_channel()
            await layer.group_add("g", channel)
            await layer.group_send("g", {"type": "app.event", "frame": json.dumps({"body": SECRET_TEXT})})
            await asyncio.wait_for(layer.receive(channel), 5)
            await layer.flush()

        asyncio.run(plain())
        assert any(SECRET_TEXT.encode() in data for _, data in raw.drain())
    finally:
        raw.close()
        private.cleanup()
    record(
        "channel-layer encryption",
        "a live chat message relayed through Redis with CHANNEL_ENCRYPTION_KEYS: "
        "only Fernet tokens on the wire (plaintext without the key)",
    )


def production_env(**extra) -> dict:
    env = {
        "DJANGO_SETTINGS_MODULE": "halobestie.settings.production",
        "FIREBASE_AUTH_EMULATOR_HOST": "",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1,api.halobestie.id",
        "XENDIT_SECRET_KEY": "xnd_production_" + secrets.token_hex(16),
        "XENDIT_CALLBACK_TOKEN": secrets.token_hex(24),
        "DEBUG": "",
    }
    env.update(extra)
    return env


def test_production_settings_serving():
    """Never a Firebase token here: production would try to reach Google to verify it."""
    env = production_env()
    server = CapturingServer(env=env).start()
    rid = f"reliability-{uuid.uuid4().hex[:12]}"
    try:
        http = httpx.Client(base_url=server.http_url, timeout=10, follow_redirects=False)
        https = {"X-Forwarded-Proto": "https"}
        # The load balancer's health check speaks plain HTTP: not redirected.
        health = http.get("/api/shared/health")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        # Everything else is HTTPS-only.
        r = http.get("/api/client/me")
        assert r.status_code == 301 and r.headers["Location"].startswith("https://")
        r = http.get("/api/client/me", headers=https)
        assert (r.status_code, r.json()["code"]) == (401, "not_authenticated")
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Request-ID"]
        # Not routed on the public entrypoint at all.
        assert http.get("/admin/", headers=https).status_code == 404
        # A request that logs: its lines are JSON and carry its request id.
        r = http.post(
            WEBHOOK,
            headers={**https, "x-callback-token": env["XENDIT_CALLBACK_TOKEN"], "X-Request-ID": rid},
            json={"external_id": f"hb-unknown-{rid}", "status": "PAID", "amount": 1},
        )
        assert r.status_code == 200 and r.headers["X-Request-ID"] == rid, r.text
        bad = http.post(WEBHOOK, headers={**https, "x-callback-token": settings.XENDIT_CALLBACK_TOKEN}, json={})
        assert bad.status_code == 403  # the sandbox's token means nothing in production
    finally:
        server.stop()
    assert PaymentIncident.objects.filter(external_id=f"hb-unknown-{rid}").count() == 1
    lines = [line for line in server.output().splitlines() if line.strip()]
    records = []
    for line in lines:
        if line.startswith("{"):
            records.append(json.loads(line))
    ours = [rec for rec in records if rec.get("request_id") == rid]
    assert ours, lines[-20:]
    assert {"ts", "level", "logger", "request_id", "msg"} <= set(ours[0])
    assert any(rec["logger"].startswith("billing.") for rec in ours), records
    # Every line Django's logging wrote is JSON (warnings a library prints itself aside).
    django_lines = [line for line in lines if line.startswith("{") or " INFO " in line or " WARNING " in line]
    assert all(line.startswith("{") for line in django_lines), django_lines[:5]
    record(
        "production settings serving",
        "HTTPS redirect (health exempt), HSTS preload, no-store, JSON logs with the request id",
    )
