"""The app sockets on a real server: auth (header, first frame, top-level token), close
codes, the frame envelope, limits, token expiry and switched-off accounts."""

import asyncio
import json

import pytest

from accounts.services import client_set_blocked, mitra_set_active
from halobestie.testing.fixtures import client_token, make_client, make_mitra
from halobestie.testing.live import LiveServer, WsClient, in_thread
from halobestie.testing.tokens import mint_id_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), LiveServer() as live:
        yield live


def ws(server, role: str, token: str | None = None, **kw) -> WsClient:
    return WsClient(f"{server.ws_url}/ws/{role}/", token, **kw)


async def closed_with(sock: WsClient, timeout: float = 10) -> int:
    return await sock.wait_closed(timeout)


def test_header_auth_then_ping(server):
    ani = make_client("Ani")

    async def scenario():
        sock = await ws(server, "client", ani.token).connect()
        ok = sock.events("auth.ok")[0]["data"]
        assert ok["role"] == "client" and ok["id"] == str(ani.id) and ok["server_time"]
        pong = await sock.request("ping", ref="p1")
        assert pong == {**pong, "type": "pong", "ref": "p1"}
        await sock.close()

    asyncio.run(scenario())


def test_first_frame_auth_with_ref_and_top_level_token(server):
    ani = make_client("Ani")
    budi = make_mitra("Budi")

    async def scenario():
        # data.token, with a ref: ack then auth.ok
        sock = await ws(server, "client").connect()
        ack = await sock.request("auth", {"token": ani.token}, ref="a1")
        assert ack["type"] == "ack" and ack["data"]["id"] == str(ani.id)
        await sock.wait_event("auth.ok")
        assert (await sock.request("ping"))["type"] == "pong"
        # Authenticating twice is refused, the socket stays.
        again = await sock.request("auth", {"token": ani.token})
        assert again["type"] == "error" and again["data"]["code"] == "invalid_state"
        await sock.close()

        # token at the frame's top level
        mitra_sock = await ws(server, "mitra").connect()
        await mitra_sock.send({"type": "auth", "token": budi.token})
        ok = await mitra_sock.wait_event("auth.ok")
        assert ok["data"] == {**ok["data"], "role": "mitra", "id": str(budi.id)}
        await mitra_sock.close()

    asyncio.run(scenario())


def test_frames_before_auth_are_refused_but_the_socket_stays(server):
    async def scenario():
        sock = await ws(server, "client").connect()
        err = await sock.request("message.send", {"session_id": "x", "client_message_id": "1", "body": "hi"})
        assert err["type"] == "error" and err["data"]["code"] == "not_authenticated"
        assert (await sock.request("ping"))["type"] == "pong"
        bad = await sock.request("auth", {})
        assert bad["type"] == "error" and bad["data"]["code"] == "validation_error"
        await sock.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("how", ["header", "frame"])
@pytest.mark.parametrize("token", [
    "garbage",
    mint_id_token("expired", provider="google.com", issued_at=0, lifetime=60, project_id="demo-halobestie"),
    mint_id_token("aud", provider="google.com", audience="other-project", project_id="demo-halobestie"),
])
def test_bad_token_is_accepted_then_closed_4401(server, how, token):
    async def scenario():
        sock = ws(server, "client", token, header_auth=(how == "header"))
        await sock.connect(wait_auth=False)
        assert await closed_with(sock) == 4401
        errors = sock.events("error")
        assert errors and errors[0]["data"]["code"] == "invalid_token"
        assert not sock.events("auth.ok")

    asyncio.run(scenario())


def test_wrong_role_is_closed_4403(server):
    ani = make_client("Ani")
    budi = make_mitra("Budi")
    stranger = mint_id_token("stranger-phone", provider="phone", phone="+6280000000001")

    async def scenario():
        for role, token in (("mitra", ani.token), ("client", budi.token), ("mitra", stranger)):
            for header_auth in (True, False):
                sock = ws(server, role, token, header_auth=header_auth)
                await sock.connect(wait_auth=False)
                assert await closed_with(sock) == 4403, (role, header_auth)
                assert sock.events("error")[0]["data"]["code"] in ("permission_denied", "mitra_not_registered")

    asyncio.run(scenario())


def test_token_in_the_query_string_is_refused(server):
    ani = make_client("Ani")

    async def scenario():
        for param in ("token", "access_token", "id_token", "auth"):
            sock = WsClient(f"{server.ws_url}/ws/client/?{param}={ani.token}")
            await sock.connect(wait_auth=False)
            assert await closed_with(sock) == 4401
            assert sock.events("error")[0]["data"]["code"] == "invalid_token"
            assert not sock.events("auth.ok")
        # Even alongside a valid header: a token in a URL ends up in logs.
        sock = WsClient(f"{server.ws_url}/ws/client/?token={ani.token}", ani.token)
        await sock.connect(wait_auth=False)
        assert await closed_with(sock) == 4401

    asyncio.run(scenario())


def test_malformed_frames_get_errors_and_the_socket_stays_open(server):
    ani = make_client("Ani")

    async def scenario():
        sock = await ws(server, "client", ani.token).connect()
        cases = [
            ("not json", "validation_error"),
            ("[1, 2]", "validation_error"),
            ('"text"', "validation_error"),
            (json.dumps({"data": {}}), "validation_error"),
            (json.dumps({"type": 5}), "validation_error"),
            (json.dumps({"type": "ping", "data": [1]}), "validation_error"),
            (json.dumps({"type": "no.such.frame", "data": {}}), "unknown_type"),
            (json.dumps({"type": "presence.heartbeat", "data": {}}), "unknown_type"),  # mitra only
            (json.dumps({"type": "ping", "ref": {"x": 1}}), "validation_error"),
        ]
        for raw, code in cases:
            count = len(sock.frames)
            await sock.send(raw)
            err = await sock.wait_for(lambda f: f["type"] == "error", start=count)
            assert err["data"]["code"] == code, raw
            assert (await sock.request("ping"))["type"] == "pong"
        # An error to a frame with a ref carries the ref.
        err = await sock.request("message.read", {"session_id": "nope", "up_to": "x"}, ref="r-err")
        assert err["type"] == "error" and err["ref"] == "r-err"
        await sock.close()

    asyncio.run(scenario())


def test_frames_over_64_kib_get_an_error_and_the_socket_stays_open(server):
    ani = make_client("Ani")

    async def scenario():
        sock = await ws(server, "client", ani.token).connect()
        big = json.dumps({"type": "ping", "ref": "big", "data": {"pad": "x" * (70 * 1024)}})
        count = len(sock.frames)
        await sock.send(big)
        err = await sock.wait_for(lambda f: f["type"] == "error", start=count)
        assert err["data"]["code"] == "frame_too_large"
        assert (await sock.request("ping"))["type"] == "pong"
        # Just under the limit is fine.
        ok = await sock.request("ping", {"pad": "y" * (60 * 1024)})
        assert ok["type"] == "pong"
        await sock.close()

    asyncio.run(scenario())


def test_the_frame_limit_counts_bytes_not_characters(server):
    ani = make_client("Ani")

    async def scenario():
        sock = await ws(server, "client", ani.token).connect()
        # 20,000 four-byte characters: 80 KB on the wire, under 64 Ki characters.
        wide = json.dumps({"type": "ping", "data": {"pad": "😊" * 20000}}, ensure_ascii=False)
        count = len(sock.frames)
        await sock.send(wide)
        err = await sock.wait_for(lambda f: f["type"] in ("error", "pong"), start=count)
        assert err["type"] == "error" and err["data"]["code"] == "frame_too_large"
        assert (await sock.request("ping"))["type"] == "pong"
        await sock.close()

    asyncio.run(scenario())


def test_a_flood_is_throttled_then_closed(server):
    ani = make_client("Ani")

    async def scenario():
        sock = await ws(server, "client", ani.token).connect()
        for i in range(200):
            await sock.send({"type": "ping", "ref": f"f{i}"})
        assert await closed_with(sock) == 4429
        throttled = [f for f in sock.events("error") if f["data"]["code"] == "throttled"]
        assert throttled
        assert 30 <= len(sock.events("pong")) < 200
        # Each refused frame is answered with its ref and a retry hint (the closing error has none).
        answered = [f for f in throttled if "ref" in f]
        assert len(answered) == len(throttled) - 1 and all(f["data"]["retry_after"] > 0 for f in answered)
        assert {f["ref"] for f in answered}.isdisjoint(f["ref"] for f in sock.events("pong"))

    asyncio.run(scenario())


def test_one_user_many_sockets_all_get_every_event(server):
    budi = make_mitra("Budi", online=True)
    ani = make_client("Ani")

    async def scenario():
        phones = [await ws(server, "mitra", budi.token).connect() for _ in range(3)]
        r = await asyncio.to_thread(ani.api.post, "/api/client/pairing-requests", {"free_trial": True},
                                    format="json")
        assert r.status_code == 201
        for sock in phones:
            offer = await sock.wait_event("pairing.offer", id=r.json()["id"])
            assert offer["data"]["client"]["alias"] == ani.user.alias
        for sock in phones:
            await sock.close()

    asyncio.run(scenario())


def test_socket_is_closed_4401_when_its_token_expires(server):
    ani = make_client("Ani")
    short = client_token(ani.user.firebase_uid, lifetime=5)

    async def scenario():
        sock = await ws(server, "client", short).connect()
        assert (await sock.request("ping"))["type"] == "pong"
        assert await closed_with(sock, timeout=15) == 4401
        assert sock.events("error")[-1]["data"]["code"] == "invalid_token"

    asyncio.run(scenario())


def test_deactivated_mitra_loses_its_sockets_at_once(server):
    budi = make_mitra("Budi", online=True)

    async def scenario():
        socks = [await ws(server, "mitra", budi.token).connect() for _ in range(2)]
        await in_thread(mitra_set_active, mitra=budi.user, active=False, actor=None)
        for sock in socks:
            assert await closed_with(sock) == 4403
            assert sock.events("error")[-1]["data"]["code"] == "account_deactivated"
        # And cannot come back.
        again = ws(server, "mitra", budi.token)
        await again.connect(wait_auth=False)
        assert await closed_with(again) == 4403

    asyncio.run(scenario())
    from pairing.models import MitraPresence

    presence = MitraPresence.objects.get(mitra=budi.user)
    assert presence.status == "offline"
    assert budi.user.online_logs.get().end_reason == "deactivated"


def test_blocked_client_loses_its_live_sockets_at_once(server):
    ani = make_client("Ani")

    async def scenario():
        socks = [await ws(server, "client", ani.token).connect() for _ in range(2)]
        await in_thread(client_set_blocked, client=ani.user, blocked=True, actor=None, reason="abuse")
        for sock in socks:
            assert await closed_with(sock) == 4403

    asyncio.run(scenario())


def test_auth_deadline_closes_a_silent_socket():
    with LiveServer(env={"WS_AUTH_TIMEOUT": "1"}) as live:
        async def scenario():
            sock = ws(live, "client")
            await sock.connect(wait_auth=False)
            assert await closed_with(sock, timeout=10) == 4401
            assert sock.events("error")[-1]["data"]["code"] == "not_authenticated"

        asyncio.run(scenario())


def test_mitra_socket_counts_as_a_heartbeat_and_answers_presence_heartbeat(server):
    from datetime import timedelta

    from django.utils import timezone

    from pairing.models import MitraPresence

    budi = make_mitra("Budi", online=True)
    stale = timezone.now() - timedelta(seconds=60)
    MitraPresence.objects.filter(mitra=budi.user).update(last_heartbeat_at=stale)

    async def scenario():
        sock = await ws(server, "mitra", budi.token).connect()
        await sock.request("ping")  # auth's heartbeat has happened by now
        opened = await in_thread(lambda: MitraPresence.objects.get(mitra=budi.user).last_heartbeat_at)
        assert opened > stale
        await in_thread(MitraPresence.objects.filter(mitra=budi.user).update, last_heartbeat_at=stale)
        ack = await sock.request("presence.heartbeat", {})
        assert ack["type"] == "ack"
        assert ack["data"]["status"] == "online" and ack["data"]["max_customers"] == 3
        beat = await in_thread(lambda: MitraPresence.objects.get(mitra=budi.user).last_heartbeat_at)
        assert beat > stale
        await sock.close()

    asyncio.run(scenario())
