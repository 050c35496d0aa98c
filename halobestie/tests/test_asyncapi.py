"""The AsyncAPI document says exactly what the sockets do.

- every frame type the consumer accepts (auth, ping and each app's HANDLERS, per role) is a
  `receive` operation of that role's channel, and nothing else is;
- every event type the code sends (found in the source: each `send_on_commit` /
  `send_events_now` event and each frame the consumer writes) is a `send` message, and the
  document lists nothing the code never sends;
- every `$ref` resolves, every payload is a valid JSON Schema, and real frames from a live
  server validate against it;
- it is served (YAML, JSON) and rendered (a page, checked in Chromium).
"""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from rest_framework.test import APIClient

from halobestie.sockets import asyncapi
from halobestie.sockets.consumer import ClientSocketConsumer, MitraSocketConsumer
from halobestie.testing.fixtures import make_client, make_mitra
from halobestie.testing.live import LiveServer, WsClient, in_thread
from halobestie.testing.protocol import FrameChecker

ROOT = Path(__file__).resolve().parents[2]
APPS = ["accounts", "pairing", "chat", "billing", "notifications", "halobestie"]
CHANNELS = {"clientSocket": ClientSocketConsumer, "mitraSocket": MitraSocketConsumer}


@pytest.fixture(scope="module")
def doc(django_db_blocker):
    with django_db_blocker.unblock():
        asyncapi.document.cache_clear()
        return asyncapi.document()


def documented(doc: dict, channel: str, action: str) -> set[str]:
    return {m["payload"]["properties"]["type"]["const"] for m in asyncapi.frames(doc, channel, action)}


def sent_in_source() -> set[str]:
    """Event types in send_on_commit/send_events_now calls, and frame types the consumer writes."""
    found: set[str] = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts or "testing" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ("send_on_commit", "send_events_now"):
                    for sub in ast.walk(node):
                        if (isinstance(sub, ast.Tuple) and len(sub.elts) == 3
                                and isinstance(sub.elts[1], ast.Constant) and isinstance(sub.elts[1].value, str)):
                            found.add(sub.elts[1].value)
                elif name == "_send" and node.args and isinstance(node.args[0], ast.Dict):
                    for key, value in zip(node.args[0].keys, node.args[0].values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == "type" and isinstance(value, ast.Constant):
                            found.add(value.value)
    return found


def test_it_is_an_asyncapi_3_document_whose_refs_all_resolve(doc):
    assert doc["asyncapi"] == "3.0.0"

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                asyncapi.resolve(doc, node["$ref"])  # KeyError: a dangling reference
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    for name, message in doc["components"]["messages"].items():
        jsonschema.Draft202012Validator.check_schema(message["payload"])
        assert message["payload"]["properties"]["type"]["const"], name
    # The REST shapes came from the OpenAPI schema, with OpenAPI's `nullable` translated.
    assert {"Session", "Message", "Offer", "Presence", "Extension", "Payment"} <= set(doc["components"]["schemas"])
    assert "nullable" not in json.dumps(doc)


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_every_frame_the_consumer_accepts_is_documented_and_nothing_else(doc, channel):
    accepts = set(CHANNELS[channel]().frame_types())
    assert documented(doc, channel, "receive") == accepts


def test_every_event_the_code_sends_is_documented_and_nothing_else(doc):
    in_code = sent_in_source()
    assert {"message.new", "session.updated", "pairing.offer", "ack", "error", "auth.ok"} <= in_code  # the scan works
    in_doc = documented(doc, "clientSocket", "send") | documented(doc, "mitraSocket", "send")
    assert in_doc == in_code, {"undocumented": in_code - in_doc, "never sent": in_doc - in_code}


@pytest.mark.django_db
def test_the_document_is_served_as_yaml_and_json(doc):
    api = APIClient()
    r = api.get("/api/asyncapi.yaml")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(r.content) == doc
    r = api.get("/api/asyncapi.json")
    assert r.status_code == 200 and r.json() == json.loads(json.dumps(doc))
    page = api.get("/api/docs/sockets/")
    assert page.status_code == 200 and b"message.send" in page.content and b"/ws/mitra/" in page.content


@pytest.mark.django_db(transaction=True)
def test_real_frames_match_the_document():
    """A short real exchange on a live server: every frame both sides get validates."""
    from halobestie.testing.fixtures import start_trial_session

    checker = FrameChecker()
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)

    async def scenario(server):
        client = await WsClient(f"{server.ws_url}/ws/client/", ani.token).connect()
        mitra = await WsClient(f"{server.ws_url}/ws/mitra/", budi.token).connect()
        session = await in_thread(start_trial_session, ani, budi)
        sid = session["id"]
        sent = {"type": "message.send", "ref": "m1", "data": {"session_id": sid, "client_message_id": "c1",
                                                                 "body": "halo"}}
        assert not checker.check("clientSocket", "receive", sent)
        ack = await client.request("message.send", sent["data"], ref="m1")
        assert ack["type"] == "ack"
        new = await mitra.wait_event("message.new", client_message_id="c1")
        await mitra.request("message.read", {"session_id": sid, "up_to": new["data"]["id"]})
        await client.wait_event("message.status", status="read")
        await mitra.request("typing", {"session_id": sid, "is_typing": True})
        await client.wait_event("typing")
        await mitra.request("presence.heartbeat", {})
        await client.request("ping", {}, ref="p1")
        unknown = await client.request("no.such.frame", {})
        assert unknown["data"]["code"] == "unknown_type"
        assert unknown["data"]["valid_types"] == sorted(ClientSocketConsumer().frame_types())
        assert "presence.heartbeat" not in unknown["data"]["valid_types"]
        await client.close()
        await mitra.close()
        return client.frames, mitra.frames

    with LiveServer() as server:
        client_frames, mitra_frames = asyncio.run(scenario(server))
    problems = [p for f in client_frames for p in checker.check("clientSocket", "send", f)]
    problems += [p for f in mitra_frames for p in checker.check("mitraSocket", "send", f)]
    assert not problems, problems
    seen = {f["type"] for f in client_frames + mitra_frames}
    assert {"auth.ok", "ack", "error", "pong", "message.new", "message.status", "typing", "pairing.offer", "pairing.matched"} <= seen


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_socket_docs_page_reads_in_a_browser():
    from playwright.sync_api import sync_playwright

    from halobestie.testing.browser import CHROMIUM, CHROMIUM_ARGS

    with LiveServer() as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda req: requests.append(req.url))
        page.goto(f"{server.http_url}/api/docs/sockets/")
        assert page.locator("h1").inner_text() == "Halo Bestie sockets"
        mitra = page.locator("#mitraSocket")
        assert "/ws/mitra/" in mitra.inner_text()
        frame = page.locator('.frame[data-type="presence.heartbeat"]')
        assert frame.count() == 1
        frame.locator("summary").click()
        assert '"const": "presence.heartbeat"' in frame.locator("pre").inner_text()
        page.locator("nav a", has_text="REST API").click()
        page.wait_for_url(f"{server.http_url}/api/docs/")
        browser.close()
    # Nothing fetched from anywhere but this server (no CDN).
    assert all(url.startswith(server.http_url) for url in requests), requests
