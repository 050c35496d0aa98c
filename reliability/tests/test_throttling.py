"""REST throttles count on Redis, across processes, and never take the API down.

halobestie/tests/test_errors.py checks the 429 shape in one process. Here the limits are
shared by every web instance (the Cloud Run shape): this process (with REST_FRAMEWORK's
rates overridden) and a live server with two worker processes (given the same rates by
env) spend one budget per caller — sign-in per user (and per token), pairing create and
message send per user — and past it both answer 429 {"code": "throttled"} with Retry-After. And with
the cache unreachable, throttled endpoints still answer (a rate limit is not worth an
outage; the hard limits are database constraints).
"""

from __future__ import annotations

import httpx
import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from halobestie.testing.fixtures import make_client, make_mitra, start_trial_session
from halobestie.testing.live import LiveServer
from reliability.figures import record

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RATES = {"sign_in": "4/day", "sign_in_token": "100/day", "sign_in_address": "1000/day",
         "pairing_create": "3/day", "message_send": "5/day"}


@pytest.fixture
def low_rates(monkeypatch):
    rest = {**api_settings.user_settings, "DEFAULT_THROTTLE_RATES": RATES}
    with override_settings(REST_FRAMEWORK=rest):
        # DRF copies the rates onto the throttle class at import time.
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", api_settings.DEFAULT_THROTTLE_RATES)
        yield


def throttled(r) -> bool:
    if r.status_code != 429:
        return False
    body = r.json()
    assert body["code"] == "throttled" and body["detail"] and body["retry_after"] >= 1, body
    assert int(r.headers["Retry-After"]) == body["retry_after"]
    return True


def test_limits_are_shared_by_every_web_process(low_rates):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    citra = make_client("Citra")
    env = {
        "THROTTLE_SIGN_IN": RATES["sign_in"],
        "THROTTLE_SIGN_IN_TOKEN": RATES["sign_in_token"],
        "THROTTLE_SIGN_IN_ADDRESS": RATES["sign_in_address"],
        "THROTTLE_PAIRING": RATES["pairing_create"],
        "THROTTLE_MESSAGES": RATES["message_send"],
    }
    with LiveServer(workers=2, env=env) as server:

        def live(method, path, actor, **kw):
            # A new connection each time: the two worker processes share the load.
            with httpx.Client(base_url=server.http_url, timeout=10) as http:
                return http.request(method, path, headers={"Authorization": f"Bearer {actor.token}"}, **kw)

        # Sign-in: 4 per day (a fixed window: no refill mid-test) per user — 2 here, 2 there, then both refuse.
        assert [ani.api.post("/api/client/auth/session").status_code for _ in range(2)] == [200, 200]
        assert [live("POST", "/api/client/auth/session", ani).status_code for _ in range(2)] == [200, 200]
        assert throttled(live("POST", "/api/client/auth/session", ani))
        assert throttled(ani.api.post("/api/client/auth/session"))
        assert ani.api.get("/api/client/me").status_code == 200  # reads are not sign-ins

        # Pairing create: 3 per day per client, whatever the answer.
        codes = []
        for where in ("here", "there", "there"):
            r = (
                ani.api.post("/api/client/pairing-requests", {"free_trial": False}, format="json")
                if where == "here"
                else live("POST", "/api/client/pairing-requests", ani, json={"free_trial": False})
            )
            codes.append(r.status_code)
        assert codes == [400, 400, 400]
        assert throttled(live("POST", "/api/client/pairing-requests", ani, json={"free_trial": True}))
        assert throttled(ani.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json"))
        # Per client: Citra's budget is her own.
        sid = start_trial_session(citra, budi)["id"]

        # Message send: 5 per day per user.
        sent = [
            citra.api.post(
                f"/api/client/sessions/{sid}/messages", {"client_message_id": f"h{i}", "body": "hai"}, format="json"
            ).status_code
            for i in range(3)
        ]
        sent += [
            live(
                "POST",
                f"/api/client/sessions/{sid}/messages",
                citra,
                json={"client_message_id": f"t{i}", "body": "hai"},
            ).status_code
            for i in range(2)
        ]
        assert sent == [201] * 5
        assert throttled(
            live("POST", f"/api/client/sessions/{sid}/messages", citra, json={"client_message_id": "t9", "body": "hai"})
        )
        assert live("GET", f"/api/client/sessions/{sid}/messages", citra).status_code == 200
        # The mitra of the same session has a budget of their own.
        assert (
            live(
                "POST", f"/api/mitra/sessions/{sid}/messages", budi, json={"client_message_id": "b1", "body": "halo"}
            ).status_code
            == 201
        )

    # The counters are in Redis, under this run's cache prefix.
    import redis

    keys = [
        k.decode()
        for k in redis.Redis.from_url(settings.REDIS_URL).scan_iter(
            match=f"{settings.CACHES['default']['KEY_PREFIX']}:*throttle_*", count=1000
        )
    ]
    assert {scope for scope in RATES if any(f"throttle_{scope}_" in k for k in keys)} == set(RATES), keys
    record(
        "REST throttling",
        "sign-in, pairing create and message send: one budget shared by 3 processes "
        "(on Redis), 429 throttled + Retry-After past it",
    )


def test_throttled_endpoints_still_answer_when_the_cache_is_down(low_rates):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(ani, budi)["id"]
    dead = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "KEY_PREFIX": "dead",
        }
    }  # port 9: nobody
    with override_settings(CACHES=dead):
        for i in range(8):  # past every rate: the limit cannot be counted, so it is not enforced
            assert ani.api.post("/api/client/auth/session").status_code == 200
            r = ani.api.post(
                f"/api/client/sessions/{sid}/messages", {"client_message_id": f"d{i}", "body": "hai"}, format="json"
            )
            assert r.status_code == 201, r.content
