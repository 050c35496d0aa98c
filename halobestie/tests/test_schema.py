"""The OpenAPI schema at /api/schema/ loads and documents every path of api.md."""

import re

import pytest

pytestmark = pytest.mark.django_db

# (method, path) exactly as api.md writes them (path parameters normalised below).
API_MD = [
    ("get", "/api/shared/health"),
    ("post", "/api/shared/devices"),
    ("delete", "/api/shared/devices/{fcm_token}"),
    ("post", "/api/shared/webhooks/xendit/invoice"),
    ("post", "/api/client/auth/session"),
    ("get", "/api/client/me"),
    ("patch", "/api/client/me"),
    ("get", "/api/client/pricing"),
    ("post", "/api/client/pairing-requests"),
    ("get", "/api/client/pairing-requests/{id}"),
    ("post", "/api/client/pairing-requests/{id}/cancel"),
    ("get", "/api/client/sessions"),
    ("get", "/api/client/sessions/{id}"),
    ("post", "/api/client/sessions/{id}/end"),
    ("post", "/api/client/sessions/{id}/extensions"),
    ("post", "/api/client/sessions/{id}/feedback"),
    ("get", "/api/client/sessions/{id}/messages"),
    ("post", "/api/client/sessions/{id}/messages"),
    ("get", "/api/client/sessions/{id}/transcript"),
    ("post", "/api/mitra/auth/session"),
    ("get", "/api/mitra/me"),
    ("get", "/api/mitra/presence"),
    ("put", "/api/mitra/presence"),
    ("post", "/api/mitra/presence/heartbeat"),
    ("get", "/api/mitra/pairing-requests"),
    ("post", "/api/mitra/pairing-requests/{id}/accept"),
    ("post", "/api/mitra/pairing-requests/{id}/decline"),
    ("get", "/api/mitra/sessions"),
    ("get", "/api/mitra/sessions/{id}"),
    ("post", "/api/mitra/sessions/{id}/end"),
    ("post", "/api/mitra/sessions/{id}/extensions/{ext_id}/accept"),
    ("post", "/api/mitra/sessions/{id}/extensions/{ext_id}/reject"),
    ("get", "/api/mitra/sessions/{id}/messages"),
    ("post", "/api/mitra/sessions/{id}/messages"),
    ("get", "/api/mitra/sessions/{id}/transcript"),
]
# The parts of api.md this suite's issues (3, 4, 5) own; the rest belongs to billing/push.
MINE = [p for p in API_MD if not re.search(r"devices|webhooks|pricing|extensions", p[1])]


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        r = APIClient().get("/api/schema/", {"format": "json"})
    assert r.status_code == 200, r.content[:500]
    return r.json()


def test_schema_loads(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Halo Bestie API"


@pytest.mark.parametrize("method,path", MINE)
def test_every_api_md_path_is_documented(schema, method, path):
    documented = {normalise(p): ops for p, ops in schema["paths"].items()}
    assert normalise(path) in documented, f"{path} missing from the schema"
    assert method in documented[normalise(path)], f"{method.upper()} {path} missing"


def test_all_api_md_paths_are_documented_once_billing_and_push_land(schema):
    documented = {normalise(p): ops for p, ops in schema["paths"].items()}
    missing = [f"{m.upper()} {p}" for m, p in API_MD
               if normalise(p) not in documented or m not in documented[normalise(p)]]
    if missing and all(re.search(r"devices|webhooks|pricing|extensions", m) for m in missing):
        pytest.xfail(f"owned by the billing/push issues, not yet routed: {missing}")
    assert not missing


def test_operation_ids_are_unique(schema):
    ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values() if "operationId" in op]
    assert len(ids) == len(set(ids))


def test_shapes_in_the_schema_carry_the_contract_fields(schema):
    components = schema["components"]["schemas"]

    def props(name):
        return set(components[name]["properties"])

    assert props("Session") >= {"id", "state", "client", "mitra", "free_trial", "started_at", "ends_at",
                                "closing_ends_at", "closed_at", "server_time", "payment",
                                "pending_extension", "closure", "can_end_early"}
    assert props("Message") >= {"id", "session_id", "client_message_id", "sender", "body", "created_at",
                                "status", "delivered_at", "read_at"}
    assert props("PairingRequest") >= {"id", "state", "tier", "free_trial", "created_at", "expires_at",
                                       "session_id"}
    assert props("Presence") >= {"status", "since", "last_heartbeat_at", "heartbeat_interval",
                                 "auto_offline_after", "live_sessions", "max_customers"}


def test_interactive_docs_are_served(client):
    r = client.get("/api/docs/")
    assert r.status_code == 200
    assert b"swagger" in r.content.lower()


def test_every_operation_says_what_it_does_without_the_source(schema):
    ops = [(f"{m.upper()} {p}", op) for p, methods in schema["paths"].items() for m, op in methods.items()]
    assert len(ops) >= 40
    missing = [name for name, op in ops if not op.get("summary") or len(op.get("description", "")) < 20]
    assert not missing, missing
    # No dangling pointers to a document the reader may not have.
    import json

    assert "api.md" not in json.dumps(schema)
    assert "/api/asyncapi.yaml" in schema["info"]["description"]
