"""End to end on a real server (uvicorn, Redis channel layer) with real WebSocket clients:
offer → accept → matched → withdrawn, expiry, and a mitra who comes online later."""

import asyncio
from datetime import timedelta

import pytest

from chat.models import Session
from halobestie.testing.fixtures import make_client, make_mitra
from halobestie.testing.live import LiveServer, WsClient, in_thread
from pairing.models import PairingOffer, PairingRequest
from pairing.services import pairing_sweep_expired

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), LiveServer() as live:
        yield live


async def post(actor, path, data=None):
    r = await asyncio.to_thread(actor.api.post, path, data or {}, format="json")
    return r.status_code, r.json() if r.content else None


def test_offer_accept_matched_withdrawn(server):
    ani = make_client("Ani")
    mitras = [make_mitra(name, online=True) for name in ("Budi", "Dina", "Eko")]
    offline = make_mitra("Fajar")

    async def scenario():
        client_ws = await WsClient(f"{server.ws_url}/ws/client/", ani.token).connect()
        sockets = [await WsClient(f"{server.ws_url}/ws/mitra/", m.token, header_auth=(i % 2 == 0)).connect()
                   for i, m in enumerate(mitras)]
        offline_ws = await WsClient(f"{server.ws_url}/ws/mitra/", offline.token).connect()

        status, req = await post(ani, "/api/client/pairing-requests", {"free_trial": True, "topic": "capek"})
        assert status == 201
        rid = req["id"]
        for sock in sockets:
            offer = await sock.wait_event("pairing.offer", id=rid)
            assert offer["data"]["client"]["alias"] == ani.user.alias and offer["data"]["topic"] == "capek"

        status, session = await post(mitras[1], f"/api/mitra/pairing-requests/{rid}/accept")
        assert status == 201 and session["state"] == "active"
        matched = await client_ws.wait_event("pairing.matched", request_id=rid)
        assert matched["data"]["session"]["id"] == session["id"]
        assert matched["data"]["session"]["mitra"]["id"] == str(mitras[1].id)
        for i in (0, 2):
            withdrawn = await sockets[i].wait_event("pairing.offer_withdrawn", id=rid)
            assert withdrawn["data"]["reason"] == "taken"
        status, body = await post(mitras[0], f"/api/mitra/pairing-requests/{rid}/accept")
        assert status == 409 and body["code"] == "already_taken"
        # The winner is not told its own offer was withdrawn; the offline mitra heard nothing.
        await sockets[1].request("ping")
        assert not sockets[1].events("pairing.offer_withdrawn")
        await offline_ws.request("ping")
        assert not offline_ws.events("pairing.offer") and not offline_ws.events("pairing.offer_withdrawn")
        # Session events reach both sides.
        await sockets[1].wait_event("message.new", sender="system")
        await client_ws.wait_event("message.new", sender="system")
        for sock in [client_ws, offline_ws, *sockets]:
            await sock.close()
        return rid, session["id"]

    rid, sid = asyncio.run(scenario())
    assert PairingRequest.objects.get(pk=rid).state == "matched"
    assert Session.objects.get(pk=sid).mitra_id == mitras[1].id
    assert sorted(PairingOffer.objects.filter(request_id=rid).values_list("state", flat=True)) == [
        "accepted", "withdrawn", "withdrawn"]


def test_expiry_reaches_the_client_and_the_mitras(server):
    ani = make_client("Ani")
    budi, dina = make_mitra("Budi", online=True), make_mitra("Dina", online=True)

    async def scenario():
        client_ws = await WsClient(f"{server.ws_url}/ws/client/", ani.token).connect()
        mitra_ws = [await WsClient(f"{server.ws_url}/ws/mitra/", m.token).connect() for m in (budi, dina)]
        status, req = await post(ani, "/api/client/pairing-requests", {"free_trial": True})
        rid = req["id"]
        for sock in mitra_ws:
            await sock.wait_event("pairing.offer", id=rid)
        # The clock: the sweep (as beat or the embedded ticker would run it) after the deadline.
        row = await in_thread(PairingRequest.objects.get, pk=rid)
        assert await in_thread(pairing_sweep_expired, now=row.expires_at + timedelta(seconds=1)) == 1
        expired = await client_ws.wait_event("pairing.expired")
        assert expired["data"] == {"request_id": rid}
        for sock in mitra_ws:
            withdrawn = await sock.wait_event("pairing.offer_withdrawn", id=rid)
            assert withdrawn["data"]["reason"] == "expired"
        status, body = await post(budi, f"/api/mitra/pairing-requests/{rid}/accept")
        assert status == 409 and body["code"] == "invalid_state"
        for sock in [client_ws, *mitra_ws]:
            await sock.close()

    asyncio.run(scenario())


def test_cancel_reaches_the_mitras(server):
    ani = make_client("Ani")
    budi = make_mitra("Budi", online=True)

    async def scenario():
        mitra_ws = await WsClient(f"{server.ws_url}/ws/mitra/", budi.token).connect()
        _, req = await post(ani, "/api/client/pairing-requests", {"free_trial": True})
        await mitra_ws.wait_event("pairing.offer", id=req["id"])
        status, body = await post(ani, f"/api/client/pairing-requests/{req['id']}/cancel")
        assert status == 200 and body["state"] == "cancelled"
        withdrawn = await mitra_ws.wait_event("pairing.offer_withdrawn", id=req["id"])
        assert withdrawn["data"]["reason"] == "cancelled"
        await mitra_ws.close()

    asyncio.run(scenario())


def test_mitra_who_comes_online_later_gets_the_offer(server):
    ani = make_client("Ani")
    late = make_mitra("Late")

    async def scenario():
        sock = await WsClient(f"{server.ws_url}/ws/mitra/", late.token).connect()
        _, req = await post(ani, "/api/client/pairing-requests", {"free_trial": True})
        await sock.request("ping")
        assert not sock.events("pairing.offer")
        r = await asyncio.to_thread(late.api.put, "/api/mitra/presence", {"status": "online"}, format="json")
        assert r.status_code == 200
        offer = await sock.wait_event("pairing.offer", id=req["id"])
        assert offer["data"]["client"]["alias"] == ani.user.alias
        status, session = await post(late, f"/api/mitra/pairing-requests/{req['id']}/accept")
        assert status == 201
        await sock.close()

    asyncio.run(scenario())


def test_auto_offline_reaches_the_mitra_socket(server):
    from django.utils import timezone

    from pairing.models import MitraPresence
    from pairing.services import presence_sweep_auto_offline

    budi = make_mitra("Budi", online=True)

    async def scenario():
        sock = await WsClient(f"{server.ws_url}/ws/mitra/", budi.token).connect()
        await sock.request("ping")
        await in_thread(MitraPresence.objects.filter(mitra=budi.user).update,
                        last_heartbeat_at=timezone.now() - timedelta(seconds=120))
        assert await in_thread(presence_sweep_auto_offline) == 1
        event = await sock.wait_event("presence.updated")
        assert event["data"]["status"] == "offline"
        await sock.close()

    asyncio.run(scenario())


def test_two_server_processes_share_events_through_redis(server):
    """Many stateless web instances: a socket on one process hears what another did."""
    ani = make_client("Ani")
    budi = make_mitra("Budi", online=True)
    with LiveServer() as other:
        async def scenario():
            client_ws = await WsClient(f"{other.ws_url}/ws/client/", ani.token).connect()
            mitra_ws = await WsClient(f"{server.ws_url}/ws/mitra/", budi.token).connect()
            _, req = await post(ani, "/api/client/pairing-requests", {"free_trial": True})
            await mitra_ws.wait_event("pairing.offer", id=req["id"])
            await post(budi, f"/api/mitra/pairing-requests/{req['id']}/accept")
            matched = await client_ws.wait_event("pairing.matched")
            sid = matched["data"]["session"]["id"]
            ack = await client_ws.request("message.send", {"session_id": sid, "client_message_id": "x1",
                                                           "body": "halo dari proses lain"})
            assert ack["type"] == "ack"
            await mitra_ws.wait_event("message.new", id=ack["data"]["id"])
            await client_ws.close()
            await mitra_ws.close()

        asyncio.run(scenario())
