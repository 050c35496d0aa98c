"""End to end on loopback: the public server (uvicorn subprocess) sends "new message"
pushes to the fake FCM server only while the recipient has no live socket."""

from __future__ import annotations

import asyncio
import time

import pytest
import requests

from halobestie.realtime import mitra_group
from halobestie.sockets.registry import has_live_socket
from halobestie.testing.fixtures import make_client, make_mitra
from halobestie.testing.live import LiveServer, WsClient

from .helpers import add_device, start_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:Message.token is deprecated:DeprecationWarning")]


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def test_message_push_only_when_the_recipient_has_no_live_socket(fake_fcm):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_session(ani, budi)["id"]
    budi_token = add_device(budi)
    server = LiveServer(env={"PUSH_BACKEND": "fcm", "FCM_BASE_URL": fake_fcm.base_url}).start()

    def post_message(client_message_id: str, body: str) -> dict:
        r = requests.post(f"{server.http_url}/api/client/sessions/{sid}/messages",
                          json={"client_message_id": client_message_id, "body": body},
                          headers={"Authorization": f"Bearer {ani.token}"}, timeout=10)
        assert r.status_code == 201, r.text
        return r.json()

    def new_message_pushes() -> list[dict]:
        return [m for m in fake_fcm.messages_to(budi_token) if m["data"]["type"] == "new_message"]

    async def scenario():
        mitra_ws = await WsClient(f"{server.ws_url}/ws/mitra/", budi.token).connect()
        assert await asyncio.to_thread(has_live_socket, mitra_group(budi.id))
        first = await asyncio.to_thread(post_message, "c1", "halo, lagi online?")
        await mitra_ws.wait_event("message.new", id=first["id"])
        # The push decision is taken on commit, before the server answered: none went out.
        assert new_message_pushes() == []

        await mitra_ws.close()
        await _until(lambda: not has_live_socket(mitra_group(budi.id)))
        second = await asyncio.to_thread(post_message, "c2", "kok hilang?")
        pushes = await asyncio.to_thread(fake_fcm.wait_for, lambda _: len(new_message_pushes()) >= 1)
        assert pushes  # waited with a deadline
        [push] = new_message_pushes()
        assert push["data"] == {"type": "new_message", "session_id": sid, "message_id": second["id"]}
        assert push["notification"] == {"title": "Pesan baru", "body": "Kamu punya pesan baru di Halo Bestie"}

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
