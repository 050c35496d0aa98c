"""Many users behind one address (carrier-grade NAT) all sign in; the address is the load
balancer's word only.

A real server (`python -m halobestie.serve web`, the production launcher) with low rates
given by env: 60 users sign in at once from one loopback address and every one gets in;
one user or one token past its own budget is refused while others are not; only a flood
from the address hits its ceiling. And `X-Forwarded-For` is believed only from
`TRUSTED_PROXIES`: from anyone else it cannot buy a fresh budget.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from django.conf import settings

from halobestie.testing.fixtures import client_token
from halobestie.testing.live import LiveServer
from reliability.figures import record

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

USERS = 60
# Per day (fixed windows): a budget cannot refill, nor a window turn, during the test.
RATES = {"THROTTLE_SIGN_IN": "3/day", "THROTTLE_SIGN_IN_TOKEN": "3/day", "THROTTLE_SIGN_IN_ADDRESS": "100/day"}


def sign_in(base_url: str, token: str, **headers) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        return http.post("/api/client/auth/session", headers={"Authorization": f"Bearer {token}", **headers})


def assert_throttled(r: httpx.Response) -> None:
    assert r.status_code == 429, (r.status_code, r.text)
    assert r.json()["code"] == "throttled" and int(r.headers["Retry-After"]) >= 1


def test_many_users_behind_one_address_all_sign_in():
    tokens = [client_token(f"cgnat-user-{i}") for i in range(USERS)]
    with LiveServer(entrypoint="web", env=RATES) as server:
        sent = 0
        with ThreadPoolExecutor(max_workers=20) as pool:  # real concurrent requests, one address
            answers = list(pool.map(lambda t: sign_in(server.http_url, t), tokens))
        sent += USERS
        assert sorted({r.status_code for r in answers}) == [201], [r.text for r in answers if r.status_code != 201]

        # One user past their own budget (3): refused, with a new token too; the others are not.
        eager = tokens[0]
        assert sign_in(server.http_url, eager).status_code == 200
        assert sign_in(server.http_url, eager).status_code == 200
        assert_throttled(sign_in(server.http_url, eager))
        assert_throttled(sign_in(server.http_url, client_token("cgnat-user-0")))
        assert sign_in(server.http_url, tokens[1]).status_code == 200
        sent += 5

        # One junk token replayed: refused before it is even verified (401, 401, 401, 429).
        junk = "not.a.token-" + "x" * 20
        codes = [sign_in(server.http_url, junk).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429], codes
        sent += 4

        # The address's flood ceiling (100) is reached only by a flood.
        for i in range(100 - sent):
            assert sign_in(server.http_url, f"junk-{i}").status_code == 401
        assert_throttled(sign_in(server.http_url, client_token("cgnat-latecomer")))

    keys = [k.decode() for k in redis.Redis.from_url(settings.REDIS_URL).scan_iter(
        match=f"{settings.CACHES['default']['KEY_PREFIX']}:*throttle_sign_in*", count=1000)]
    assert any("throttle_sign_in_token_" in k for k in keys) and any("throttle_sign_in_address_" in k for k in keys)
    assert not [k for k in keys if any(t in k for t in (junk, tokens[0], tokens[0].split(".")[1]))], keys
    record("Shared addresses", f"{USERS} users signed in concurrently from one address; per-user, per-token "
                               "and a 100/day address ceiling enforced")


def test_x_forwarded_for_is_believed_only_from_trusted_proxies():
    flood = {"THROTTLE_SIGN_IN_ADDRESS": "2/day"}
    # Loopback is not a load balancer here: the header is ignored, the peer's address counts.
    with LiveServer(entrypoint="web", env={**flood, "TRUSTED_PROXIES": "10.255.255.1"}) as server:
        codes = [sign_in(server.http_url, f"junk-{i}", **{"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                 for i in range(3)]
        assert codes == [401, 401, 429], codes
    # Loopback *is* the load balancer: each forwarded client has its own ceiling, and the
    # balancer's appended address is the one believed (a client's own prefix is not).
    with LiveServer(entrypoint="web", env={**flood, "TRUSTED_PROXIES": "127.0.0.1"}) as server:
        codes = [sign_in(server.http_url, f"junk-{i}", **{"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                 for i in range(3)]
        assert codes == [401, 401, 401], codes
        same = [sign_in(server.http_url, f"j{i}", **{"X-Forwarded-For": f"198.51.100.{i}, 203.0.113.50"}).status_code
                for i in range(3)]
        assert same == [401, 401, 429], same
    record("Trusted proxies", "X-Forwarded-For ignored from untrusted peers, honoured from TRUSTED_PROXIES")
