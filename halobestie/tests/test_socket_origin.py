"""Browser Origins are checked against an allow-list (plus our own origin, for the web
client); native apps send none."""

import asyncio

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from halobestie.testing.fixtures import make_client
from halobestie.testing.live import LiveServer, WsClient

pytestmark = pytest.mark.django_db(transaction=True)


def test_origin_allow_list():
    ani = make_client("Ani")
    with LiveServer(env={"WS_ALLOWED_ORIGINS": "https://app.halobestie.id"}) as server:
        url = f"{server.ws_url}/ws/client/"

        async def scenario():
            headers = {"Authorization": f"Bearer {ani.token}"}
            with pytest.raises(InvalidStatus) as refused:
                await websockets.connect(url, origin="https://evil.example", additional_headers=headers)
            assert refused.value.response.status_code == 403

            allowed = await websockets.connect(url, origin="https://app.halobestie.id", additional_headers=headers)
            await allowed.close()

            # Our own web client: the page's Origin is the host it connects to (webchat/).
            same = await websockets.connect(url, origin=server.http_url, additional_headers=headers)
            await same.close()
            with pytest.raises(InvalidStatus):  # a look-alike origin on another port is not ours
                await websockets.connect(url, origin=f"http://127.0.0.1:{server.port + 1}", additional_headers=headers)

            native = await WsClient(url, ani.token).connect()  # no Origin header at all
            assert (await native.request("ping"))["type"] == "pong"
            await native.close()

        asyncio.run(scenario())
