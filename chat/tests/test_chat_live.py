"""A whole session over real sockets on a real server (uvicorn + Redis channel layer), from
the first message to closed: messages, receipts, typing, retries, bad frames, outsiders,
reconnect-and-catch-up, and the clock's transitions reaching both sides."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import Message, Session, SessionClosure
from chat.services.lifecycle import session_sweep_overdue
from halobestie.testing.fixtures import make_client, make_mitra, start_trial_session
from halobestie.testing.live import LiveServer, WsClient, in_thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), LiveServer() as live:
        yield live


def count_messages(sid, **filters) -> int:
    return Message.objects.filter(session_id=sid, **filters).count()


def test_full_session_from_first_message_to_closed(server):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(ani, budi)["id"]
    citra = make_client("Citra")

    async def scenario():
        phone = await WsClient(f"{server.ws_url}/ws/client/", ani.token).connect()
        tablet = await WsClient(f"{server.ws_url}/ws/client/", ani.token, header_auth=False).connect()
        mitra = await WsClient(f"{server.ws_url}/ws/mitra/", budi.token).connect()
        outsider = await WsClient(f"{server.ws_url}/ws/client/", citra.token).connect()

        # --- message.send: ack with the stored message, message.new everywhere it belongs
        ack = await phone.request("message.send", {"session_id": sid, "client_message_id": "c1",
                                                   "body": "kak, aku mau cerita"})
        assert ack["type"] == "ack"
        message = ack["data"]
        stored = await in_thread(Message.objects.get, id=message["id"])
        assert (stored.body, stored.sender, stored.client_message_id) == ("kak, aku mau cerita", "client", "c1")
        assert message["status"] == "sent" and message["session_id"] == sid
        assert (await mitra.wait_event("message.new", id=message["id"]))["data"] == message
        assert (await tablet.wait_event("message.new", id=message["id"]))["data"] == message

        # --- duplicate client_message_id: the same message back, one row
        again = await phone.request("message.send", {"session_id": sid, "client_message_id": "c1",
                                                     "body": "kak, aku mau cerita"})
        assert again["type"] == "ack" and again["data"]["id"] == message["id"]
        assert await in_thread(count_messages, sid, client_message_id="c1") == 1

        # --- receipts: to the sender's devices only, forward only
        delivered = await mitra.request("message.delivered", {"session_id": sid, "message_ids": [message["id"]]})
        assert delivered["type"] == "ack" and delivered["data"]["message_ids"] == [message["id"]]
        for device in (phone, tablet):
            status = await device.wait_event("message.status", status="delivered")
            assert status["data"]["message_ids"] == [message["id"]] and status["data"]["session_id"] == sid
        read = await mitra.request("message.read", {"session_id": sid, "up_to": message["id"]})
        assert read["data"]["message_ids"] == [message["id"]]
        for device in (phone, tablet):
            await device.wait_event("message.status", status="read")
        stale = await mitra.request("message.delivered", {"session_id": sid, "message_ids": [message["id"]]})
        assert stale["data"]["message_ids"] == []
        assert (await in_thread(Message.objects.get, id=message["id"])).status == "read"

        # --- the mitra answers; receipts the other way
        reply = await mitra.request("message.send", {"session_id": sid, "client_message_id": "b1",
                                                     "body": "cerita aja, aku dengerin"})
        for device in (phone, tablet):
            await device.wait_event("message.new", id=reply["data"]["id"])
        await tablet.request("message.read", {"session_id": sid, "up_to": reply["data"]["id"]})
        status = await mitra.wait_event("message.status", status="read")
        assert status["data"]["message_ids"] == [reply["data"]["id"]]

        # --- typing: relayed to the other side, never stored
        before = await in_thread(count_messages, sid)
        ack = await phone.request("typing", {"session_id": sid, "is_typing": True})
        assert ack["type"] == "ack"
        typing = await mitra.wait_event("typing")
        assert typing["data"] == {"session_id": sid, "is_typing": True, "sender": "client"}
        await mitra.request("typing", {"session_id": sid, "is_typing": False})
        typing_back = await phone.wait_event("typing")
        assert typing_back["data"] == {"session_id": sid, "is_typing": False, "sender": "mitra"}
        assert await in_thread(count_messages, sid) == before

        # --- limits and bad frames: errors, never a dropped socket
        too_long = await phone.request("message.send", {"session_id": sid, "client_message_id": "big",
                                                        "body": "x" * 4001})
        assert too_long["type"] == "error" and too_long["data"]["code"] == "validation_error"
        ok = await phone.request("message.send", {"session_id": sid, "client_message_id": "max", "body": "y" * 4000})
        assert ok["type"] == "ack" and len(ok["data"]["body"]) == 4000
        count = len(phone.frames)
        await phone.send("{this is not json")
        err = await phone.wait_for(lambda f: f["type"] == "error", start=count)
        assert err["data"]["code"] == "validation_error"
        missing = await phone.request("message.send", {"session_id": sid})
        assert missing["type"] == "error" and missing["data"]["code"] == "validation_error"
        assert (await phone.request("ping"))["type"] == "pong"

        # --- an outsider can neither write nor read receipts nor type into it
        for frame_type, data in (
            ("message.send", {"session_id": sid, "client_message_id": "o1", "body": "halo?"}),
            ("message.read", {"session_id": sid, "up_to": message["id"]}),
            ("message.delivered", {"session_id": sid, "message_ids": [message["id"]]}),
            ("typing", {"session_id": sid, "is_typing": True}),
        ):
            err = await outsider.request(frame_type, data)
            assert err["type"] == "error" and err["data"]["code"] == "not_found", frame_type
        r = await asyncio.to_thread(citra.api.get, f"/api/client/sessions/{sid}/messages")
        assert r.status_code == 404
        assert not outsider.events("message.new") and not outsider.events("typing")

        # --- reconnect and catch up: the tablet goes away, misses messages, comes back
        seen = [f["data"]["id"] for f in tablet.events("message.new")]
        await tablet.close()
        missed = []
        for i in range(3):
            sent = await mitra.request("message.send", {"session_id": sid, "client_message_id": f"away{i}",
                                                        "body": f"kamu masih di sana? {i}"})
            missed.append(sent["data"]["id"])
        tablet = await WsClient(f"{server.ws_url}/ws/client/", ani.token).connect()
        r = await asyncio.to_thread(ani.api.get, f"/api/client/sessions/{sid}/messages",
                                    {"after": seen[-1], "limit": 2})
        page1 = r.json()
        r = await asyncio.to_thread(ani.api.get, f"/api/client/sessions/{sid}/messages",
                                    {"after": page1["next"], "limit": 2})
        page2 = r.json()
        assert page2["next"] is None
        assert [m["id"] for m in page1["results"] + page2["results"]] == missed

        # --- the clock: closing, then closed, told to every socket with a system message
        await in_thread(Session.objects.filter(pk=sid).update, ends_at=timezone.now() - timedelta(seconds=1),
                        next_warning_at=None)
        await in_thread(session_sweep_overdue)
        for sock in (phone, tablet, mitra):
            closing = await sock.wait_event("session.updated", state="closing")
            assert closing["data"]["closing_ends_at"] and closing["data"]["server_time"]
        goodbye = await mitra.request("message.send", {"session_id": sid, "client_message_id": "bye",
                                                       "body": "jaga diri ya"})
        assert goodbye["type"] == "ack"
        await in_thread(Session.objects.filter(pk=sid).update,
                        closing_ends_at=timezone.now() - timedelta(seconds=1))
        await in_thread(session_sweep_overdue)
        for sock in (phone, tablet, mitra):
            closed = await sock.wait_event("session.updated", state="closed")
            assert closed["data"]["closure"]["closed_by"] == "system"
            assert closed["data"]["closure"]["reason"] == "time_up"
            system = [f for f in sock.events("message.new") if f["data"]["sender"] == "system"]
            assert system[-1]["data"]["body"]
        late = await phone.request("message.send", {"session_id": sid, "client_message_id": "late", "body": "eh"})
        assert late["type"] == "error" and late["data"]["code"] == "invalid_state"
        for sock in (phone, tablet, mitra, outsider):
            await sock.close()

    asyncio.run(scenario())
    assert Session.objects.get(pk=sid).state == "closed"
    assert SessionClosure.objects.get(session_id=sid).reason == "time_up"
    codes = list(Message.objects.filter(session_id=sid, sender="system").order_by("seq")
                 .values_list("system_code", flat=True))
    assert codes == ["session_active", "session_closing", "session_closed"]


def test_early_end_over_rest_reaches_both_sockets(server):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(ani, budi)["id"]

    async def scenario():
        client_ws = await WsClient(f"{server.ws_url}/ws/client/", ani.token).connect()
        mitra_ws = await WsClient(f"{server.ws_url}/ws/mitra/", budi.token).connect()
        r = await asyncio.to_thread(budi.api.post, f"/api/mitra/sessions/{sid}/end", {}, format="json")
        assert r.status_code == 200
        for sock in (client_ws, mitra_ws):
            closed = await sock.wait_event("session.updated", state="closed")
            assert closed["data"]["closure"]["closed_by"] == "mitra"
        await client_ws.close()
        await mitra_ws.close()

    asyncio.run(scenario())


def test_typing_is_rate_limited_per_socket(server):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(ani, budi)["id"]

    async def scenario():
        client_ws = await WsClient(f"{server.ws_url}/ws/client/", ani.token).connect()
        mitra_ws = await WsClient(f"{server.ws_url}/ws/mitra/", budi.token).connect()
        # A burst, sent without waiting for answers (the limit is two per second).
        refs = [f"t{i}" for i in range(5)]
        for ref in refs:
            await client_ws.send({"type": "typing", "ref": ref, "data": {"session_id": sid, "is_typing": True}})
        results = [await client_ws.wait_for(lambda f, ref=ref: f.get("ref") == ref) for ref in refs]
        assert results[0]["type"] == "ack"
        assert {r["data"]["code"] for r in results[1:] if r["type"] == "error"} <= {"throttled"}
        assert any(r["type"] == "error" for r in results[1:])
        await mitra_ws.request("ping")
        await asyncio.sleep(0.3)  # a burst must not reach the other side as a burst
        assert 1 <= len(mitra_ws.events("typing")) < 5
        await client_ws.close()
        await mitra_ws.close()

    asyncio.run(scenario())


def test_reroute_over_sockets(server):
    from chat.services.lifecycle import session_reroute

    ani, budi, dina = make_client("Ani"), make_mitra("Budi", online=True), make_mitra("Dina", online=True)
    sid = start_trial_session(ani, budi)["id"]

    async def scenario():
        client_ws = await WsClient(f"{server.ws_url}/ws/client/", ani.token).connect()
        old_ws = await WsClient(f"{server.ws_url}/ws/mitra/", budi.token).connect()
        new_ws = await WsClient(f"{server.ws_url}/ws/mitra/", dina.token).connect()
        await in_thread(session_reroute, session_id=sid, to_mitra=dina.user, actor=None)
        assert (await old_ws.wait_event("session.reassigned"))["data"] == {"session_id": sid, "session": None}
        new = await new_ws.wait_event("session.reassigned")
        assert new["data"]["session"]["mitra"]["id"] == str(dina.id)
        to_client = await client_ws.wait_event("session.reassigned")
        assert to_client["data"]["session"]["mitra"]["id"] == str(dina.id)
        await client_ws.wait_event("message.new", sender="system")
        err = await old_ws.request("message.send", {"session_id": sid, "client_message_id": "o", "body": "halo?"})
        assert err["type"] == "error" and err["data"]["code"] == "not_found"
        ok = await new_ws.request("message.send", {"session_id": sid, "client_message_id": "n", "body": "halo"})
        assert ok["type"] == "ack"
        await client_ws.wait_event("message.new", id=ok["data"]["id"])
        sent = await client_ws.request("message.send", {"session_id": sid, "client_message_id": "c", "body": "hai"})
        await new_ws.wait_event("message.new", id=sent["data"]["id"])
        await old_ws.request("ping")
        assert not old_ws.events("message.new") or all(
            f["data"]["id"] != sent["data"]["id"] for f in old_ws.events("message.new"))
        for sock in (client_ws, old_ws, new_ws):
            await sock.close()

    asyncio.run(scenario())


def test_typing_follows_a_reroute_at_once(server):
    """Sockets that typed before a reroute must not keep relaying to (or from) the old mitra."""
    from chat.services.lifecycle import session_reroute

    ani, budi, dina = make_client("Ani"), make_mitra("Budi", online=True), make_mitra("Dina", online=True)
    sid = start_trial_session(ani, budi)["id"]

    async def scenario():
        client_ws = await WsClient(f"{server.ws_url}/ws/client/", ani.token).connect()
        old_ws = await WsClient(f"{server.ws_url}/ws/mitra/", budi.token).connect()
        new_ws = await WsClient(f"{server.ws_url}/ws/mitra/", dina.token).connect()
        # Both sides type before the reroute.
        assert (await client_ws.request("typing", {"session_id": sid, "is_typing": False}))["type"] == "ack"
        await old_ws.wait_event("typing", is_typing=False)
        assert (await old_ws.request("typing", {"session_id": sid, "is_typing": False}))["type"] == "ack"
        await client_ws.wait_event("typing", sender="mitra")

        await in_thread(session_reroute, session_id=sid, to_mitra=dina.user, actor=None)
        await old_ws.wait_event("session.reassigned")
        await client_ws.wait_event("session.reassigned")

        # The client's typing now reaches the new mitra, not the old one.
        assert (await client_ws.request("typing", {"session_id": sid, "is_typing": False}))["type"] == "ack"
        await new_ws.wait_event("typing", is_typing=False)
        # The old mitra can no longer signal the client.
        before = len(client_ws.events("typing"))
        err = await old_ws.request("typing", {"session_id": sid, "is_typing": False})
        assert err["type"] == "error" and err["data"]["code"] == "not_found"
        await client_ws.request("ping")
        assert len(client_ws.events("typing")) == before
        assert len(old_ws.events("typing")) == 1
        for sock in (client_ws, old_ws, new_ws):
            await sock.close()

    asyncio.run(scenario())


def test_one_public_process_per_request_is_not_assumed(server):
    """A message sent over REST to one process reaches sockets held by another."""
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(ani, budi)["id"]
    with LiveServer() as other:
        async def scenario():
            mitra_ws = await WsClient(f"{other.ws_url}/ws/mitra/", budi.token).connect()
            import urllib.request

            def rest_post():
                req = urllib.request.Request(
                    f"{server.http_url}/api/client/sessions/{sid}/messages", method="POST",
                    data=b'{"client_message_id": "r1", "body": "lewat REST"}',
                    headers={"Authorization": f"Bearer {ani.token}", "Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=10) as resp:
                    import json

                    return resp.status, json.loads(resp.read())

            status, body = await asyncio.to_thread(rest_post)
            assert status == 201
            assert (await mitra_ws.wait_event("message.new", id=body["id"]))["data"]["body"] == "lewat REST"
            await mitra_ws.close()

        asyncio.run(scenario())


def test_a_mitra_socket_keeps_each_sessions_order_while_its_sessions_run_side_by_side(server):
    """One mitra socket, two sessions: the socket handles the two sessions' frames side by side
    (a lane per session), and within each session in the order they were sent: the stored
    seq order is the send order, and every frame is answered once."""
    ani, citra, budi = make_client("Ani"), make_client("Citra"), make_mitra("Budi", online=True)
    sids = [start_trial_session(ani, budi)["id"], start_trial_session(citra, budi)["id"]]

    async def scenario():
        mitra = await WsClient(f"{server.ws_url}/ws/mitra/", budi.token).connect()
        for n in range(24):  # interleaved, all at once, within the flood burst
            sid = sids[n % 2]
            await mitra.send({"type": "message.send", "ref": f"s{n}",
                              "data": {"session_id": sid, "client_message_id": f"b{n}", "body": f"balasan {n}"}})
        for n in range(24):
            answer = await mitra.wait_for(lambda f, ref=f"s{n}": f.get("ref") == ref)
            assert answer["type"] == "ack", answer
        return [f["ref"] for f in mitra.frames if f.get("ref")]

    refs = asyncio.run(scenario())
    assert sorted(refs) == sorted(f"s{n}" for n in range(24))  # each answered once
    for i, sid in enumerate(sids):
        sent = [f"b{n}" for n in range(24) if n % 2 == i]
        stored = list(Message.objects.filter(session_id=sid, sender="mitra").order_by("seq")
                      .values_list("client_message_id", flat=True))
        assert stored == sent
