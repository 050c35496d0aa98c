"""Browser Origins are checked against an allow-list; native apps send none."""

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

            native = await WsClient(url, ani.token).connect()  # no Origin header at all
            assert (await native.request("ping"))["type"] == "pong"
            await native.close()

        asyncio.run(scenario())
