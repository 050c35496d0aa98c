"""The public entrypoint does not route to the control center or admin at all (404), and
the internal one serves nothing but them."""

import asyncio
import json
import urllib.error
import urllib.request

import pytest
from asgiref.testing import ApplicationCommunicator

PRIVATE_PATHS = ["/admin/", "/admin/login/", "/admin/accounts/mitra/", "/login/", "/mitras/", "/clients/",
                 "/sessions/", "/settings/", "/dashboard/live/", "/transactions/", "/tiers/"]


async def asgi_get(app, path: str) -> tuple[int, dict, bytes]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80),
    }
    comm = ApplicationCommunicator(app, scope)
    await comm.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await comm.receive_output(10)
    body = b""
    while True:
        message = await comm.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await comm.wait(5)
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, body


@pytest.mark.django_db
@pytest.mark.parametrize("path", PRIVATE_PATHS + ["/"])
def test_public_urlconf_does_not_route_private_pages(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert r.json() == {"code": "not_found", "detail": "Not found."}


@pytest.mark.django_db(transaction=True)
def test_public_and_internal_asgi_apps_route_differently():
    from halobestie.asgi import application as public_app
    from halobestie.asgi_internal import application as internal_app

    async def scenario():
        for path in PRIVATE_PATHS:
            status, _, body = await asgi_get(public_app, path)
            assert status == 404, path
            assert json.loads(body)["code"] == "not_found"
        status, _, body = await asgi_get(public_app, "/api/shared/health")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        # The internal app serves admin and the control center (login pages / redirects)...
        status, headers, _ = await asgi_get(internal_app, "/admin/login/")
        # The admin signs staff in through the control center's login (lockout, TOTP).
        assert status == 302 and headers["location"].startswith("/login/")
        status, headers, _ = await asgi_get(internal_app, "/mitras/")
        assert status == 302 and "/login/" in headers["location"]
        # ...and none of the app API.
        for path in ("/api/shared/health", "/api/client/me", "/api/schema/"):
            status, _, _ = await asgi_get(internal_app, path)
            assert status == 404, path

    asyncio.run(scenario())


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.django_db(transaction=True)
def test_real_public_server_answers_404_for_admin_and_control_center(live_public):
    for path in PRIVATE_PATHS:
        status, body = http_get(live_public.http_url + path)
        assert status == 404, path
        assert json.loads(body)["code"] == "not_found"
    status, body = http_get(live_public.http_url + "/api/shared/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}


@pytest.mark.django_db(transaction=True)
def test_real_internal_server_refuses_sockets_and_serves_admin():
    from halobestie.testing.live import LiveServer

    with LiveServer(app="halobestie.asgi_internal:application") as internal:
        status, _ = http_get(internal.http_url + "/admin/login/")
        assert status == 200
        status, _ = http_get(internal.http_url + "/api/client/me")
        assert status == 404

        async def try_socket():
            import websockets

            with pytest.raises(Exception):  # noqa: B017 - handshake refused or closed at once
                async with websockets.connect(f"{internal.ws_url}/ws/client/") as ws:
                    await asyncio.wait_for(ws.recv(), 5)

        asyncio.run(try_socket())
