import asyncio

import pytest

from halobestie.testing.fixtures import make_client, make_mitra
from halobestie.testing.live import WsClient

pytestmark = pytest.mark.django_db(transaction=True)


def test_offer_reaches_mitra_socket_and_match_reaches_client(live_public):
    ani = make_client("Ani")
    budi = make_mitra("Budi", online=True)

    async def scenario():
        client_ws = await WsClient(f"{live_public.ws_url}/ws/client/", ani.token).connect()
        mitra_ws = await WsClient(f"{live_public.ws_url}/ws/mitra/", budi.token, header_auth=False).connect()
        pong = await client_ws.request("ping")
        assert pong["type"] == "pong"
        r = await asyncio.to_thread(ani.api.post, "/api/client/pairing-requests", {"free_trial": True}, format="json")
        assert r.status_code == 201
        offer = await mitra_ws.wait_event("pairing.offer", id=r.json()["id"])
        r2 = await asyncio.to_thread(budi.api.post, f"/api/mitra/pairing-requests/{offer['data']['id']}/accept")
        assert r2.status_code == 201
        matched = await client_ws.wait_event("pairing.matched")
        sid = matched["data"]["session"]["id"]
        ack = await client_ws.request("message.send", {"session_id": sid, "client_message_id": "c1", "body": "halo"})
        assert ack["type"] == "ack" and ack["data"]["body"] == "halo"
        new = await mitra_ws.wait_event("message.new", id=ack["data"]["id"])
        assert new["data"]["sender"] == "client"
        bad = await mitra_ws.request("message.send", {"session_id": sid})
        assert bad["type"] == "error" and bad["data"]["code"] == "validation_error"
        await client_ws.send("not json")
        err = await client_ws.wait_for(lambda f: f["type"] == "error")
        assert err["data"]["code"] == "validation_error"
        assert (await client_ws.request("ping"))["type"] == "pong"
        await client_ws.close()
        await mitra_ws.close()

    asyncio.run(scenario())
