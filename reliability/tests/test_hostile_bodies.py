"""Bodies no schema fuzzer sends: numbers beyond a float, JSON nested deeper than the
parser's stack, bodies over Django's size limit, broken UTF-8, JSON that is not an object,
a foreign Host. Each is answered 4xx in the contract's shape — never a 500, never HTML."""

from __future__ import annotations

import pytest
from django.conf import settings

from halobestie.testing.fixtures import make_client, make_mitra, start_trial_session

HOSTILE = {
    "number beyond a float": b'{"display_name": "x", "body": "x", "rating": 1e400, "amount": 1e400, "x": -1e999}',
    "nested 100k deep": b"[" * 100_000 + b"]" * 100_000,
    "objects nested 50k deep": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "over the size limit": b'{"body": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b'"}',
    "broken UTF-8": b'{"body": "\xff\xfe\xfa"}',
    "an array": b"[1, 2, 3]",
    "a string": b'"halo"',
    "a number": b"42",
    "empty": b"",
}


@pytest.fixture
def targets(db):
    client, mitra = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(client, mitra)["id"]
    webhook = {"HTTP_X_CALLBACK_TOKEN": settings.XENDIT_CALLBACK_TOKEN}
    return [
        (client.api, "/api/client/auth/session", {}),
        (client.api, "/api/client/pairing-requests", {}),
        (client.api, f"/api/client/sessions/{sid}/messages", {}),
        (client.api, f"/api/client/sessions/{sid}/end", {}),
        (client.api, "/api/shared/devices", {}),
        (mitra.api, f"/api/mitra/sessions/{sid}/messages", {}),
        (client.api, "/api/shared/webhooks/xendit/invoice", webhook),
    ]


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_bodies_get_a_contract_error(targets, name):
    for api, path, extra in targets:
        r = api.generic("POST", path, HOSTILE[name], content_type="application/json", **extra)
        assert r["Content-Type"].startswith("application/json"), (path, r.status_code, r.content[:100])
        body = r.json()
        if name == "empty" and r.status_code < 400:
            continue  # an absent body is fine where the body is optional (sign-in, end)
        assert 400 <= r.status_code < 500, (path, name, r.status_code, body)
        assert body["code"] and body["detail"], body


def test_a_foreign_host_gets_a_contract_error(client):
    r = client.get("/api/shared/health", HTTP_HOST="evil.example.com")
    assert (r.status_code, r.json()["code"]) == (400, "bad_request")
