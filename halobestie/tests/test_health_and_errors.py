"""Readiness checks every dependency; /api/ errors are JSON in every mode; static files
stream under ASGI without Django's StreamingHttpResponse warning."""

from __future__ import annotations

import asyncio
import warnings

import httpx
import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.api.views import ClientMeView
from halobestie.testing.live import LiveServer, free_port
from halobestie.timers import run_sweep


def assert_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, (r.status_code, r.content[:300])
    assert r["Content-Type"] == "application/json", r["Content-Type"]
    body = r.json()
    assert body["code"] == code and isinstance(body["detail"], str) and body["detail"], body
    return body


# --- readiness ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ready_when_every_dependency_answers_and_the_sweep_ticked():
    run_sweep()  # a real tick, recorded in this run's Redis cache
    r = APIClient().get("/api/shared/ready")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "channel_layer", "sweep"}
    assert all(check["ok"] for check in body["checks"].values()), body
    assert body["checks"]["channel_layer"]["backend"] == "CoalescingPubSubChannelLayer"
    assert 0 <= body["checks"]["sweep"]["age_seconds"] < 60 and body["checks"]["sweep"]["last_tick_at"]
    assert r["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_a_sweep_that_never_ticked_is_reported_but_does_not_unready_the_instance():
    body = APIClient().get("/api/shared/ready").json()
    assert body["status"] == "degraded"
    assert body["checks"]["sweep"] == {**body["checks"]["sweep"], "ok": False, "last_tick_at": None}
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


@pytest.mark.django_db(transaction=True)
def test_redis_down_makes_a_real_server_unready_and_says_which():
    nobody = f"redis://127.0.0.1:{free_port()}/0"  # a port nothing listens on
    with LiveServer(env={"REDIS_URL": nobody}) as server, httpx.Client(base_url=server.http_url, timeout=30) as http:
        r = http.get("/api/shared/ready")
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["code"] == "service_unavailable" and body["status"] == "unavailable"
        assert "redis" in body["detail"] and "channel_layer" in body["detail"]
        checks = body["checks"]
        assert checks["database"]["ok"] is True
        assert checks["redis"]["ok"] is False and checks["redis"]["error"]
        assert checks["channel_layer"]["ok"] is False
        assert checks["sweep"]["ok"] is False
        assert r.headers["Retry-After"] == "5"
        # Liveness is about this process and PostgreSQL: still alive.
        assert http.get("/api/shared/health").json() == {"status": "ok"}


# --- /api/ errors in JSON, DEBUG included -----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_paths_answer_not_found_json(debug):
    with override_settings(DEBUG=debug):
        api = APIClient()
        assert_error(api.get("/api/nothing/here"), 404, "not_found")
        assert_error(api.post("/api/client/nope", {}, format="json"), 404, "not_found")
        assert_error(api.get("/api/"), 404, "not_found")


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_405_415_and_500_are_json_too(debug, client_ani, monkeypatch):
    def crash(self, request):
        raise RuntimeError("boom")

    with override_settings(DEBUG=debug):
        assert_error(client_ani.api.delete("/api/client/pricing"), 405, "method_not_allowed")
        r = client_ani.api.generic("PATCH", "/api/client/me", "display_name=x",
                                   content_type="application/x-www-form-urlencoded")
        assert_error(r, 415, "unsupported_media_type")
        monkeypatch.setattr(ClientMeView, "get", crash)
        client_ani.api.raise_request_exception = False
        body = assert_error(client_ani.api.get("/api/client/me"), 500, "server_error")
        assert "boom" not in str(body) and "Traceback" not in str(body)


# --- static files under ASGI -----------------------------------------------------------------


def test_static_files_stream_under_asgi_without_the_streaming_warning():
    from halobestie.asgi import django_app

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": "/static/control_center/control_center.css", "raw_path": b"/static/control_center/control_center.css",
        "query_string": b"", "headers": [(b"host", b"127.0.0.1")], "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }
    sent: list[dict] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client stays connected

    async def send(message):
        sent.append(message)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(django_app(scope, receive, send))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert b"{" in body and len(body) > 100
    assert not [w for w in caught if "StreamingHttpResponse" in str(w.message)], [str(w.message) for w in caught]
