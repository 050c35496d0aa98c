"""Client sign-in (`POST /api/client/auth/session`) and the profile (`GET/PATCH /api/client/me`)."""

import uuid

import pytest
from rest_framework.test import APIClient

from accounts.models import Client
from chat.models import Session
from halobestie.testing.fixtures import make_mitra, start_trial_session
from halobestie.testing.tokens import mint_id_token

pytestmark = pytest.mark.django_db

CLIENT_KEYS = {"id", "display_name", "is_anonymous", "is_registered", "free_trial_used", "created_at"}


def api_for(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def test_first_sign_in_creates_then_second_updates():
    api = api_for(mint_id_token("uid-ani", provider="google.com", email="ani@example.com", name="Ani G"))
    r = api.post("/api/client/auth/session", {"display_name": "  Ani   Putri "}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) >= CLIENT_KEYS
    assert body["display_name"] == "Ani Putri"
    assert body["is_anonymous"] is False and body["is_registered"] is True
    assert body["free_trial_used"] is False
    uuid.UUID(body["id"])
    row = Client.objects.get(firebase_uid="uid-ani")
    assert str(row.id) == body["id"]
    assert row.sign_in_provider == "google.com" and row.email == "ani@example.com"
    assert row.last_seen_at is not None

    r2 = api.post("/api/client/auth/session", {}, format="json")
    assert r2.status_code == 200
    assert r2.json()["id"] == body["id"]
    assert r2.json()["display_name"] == "Ani Putri"  # no name given: unchanged
    assert Client.objects.count() == 1

    r3 = api.post("/api/client/auth/session", {"display_name": "Ani"}, format="json")
    assert r3.status_code == 200 and r3.json()["display_name"] == "Ani"
    assert Client.objects.get(pk=row.pk).display_name == "Ani"


def test_display_name_defaults_to_the_token_name():
    api = api_for(mint_id_token("uid-named", provider="google.com", name="Nama Dari Google"))
    r = api.post("/api/client/auth/session")
    assert r.status_code == 201
    assert r.json()["display_name"] == "Nama Dari Google"


@pytest.mark.parametrize("provider,anonymous", [
    ("anonymous", True), ("google.com", False), ("apple.com", False), ("phone", False),
])
def test_anonymous_or_registered_follows_the_sign_in_provider(provider, anonymous):
    kw = {"phone": "+6289900011122"} if provider == "phone" else {}
    api = api_for(mint_id_token(f"uid-{provider}", provider=provider, **kw))
    r = api.post("/api/client/auth/session", {"display_name": "Tamu"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["is_anonymous"] is anonymous
    assert r.json()["is_registered"] is (not anonymous)
    assert Client.objects.get(firebase_uid=f"uid-{provider}").is_anonymous is anonymous


@pytest.mark.parametrize("provider,extra", [
    ("phone", {"phone": "+6281234000999"}),
    ("google.com", {"email": "tamu@example.com"}),
])
def test_anonymous_client_who_links_a_credential_keeps_the_same_row_and_history(provider, extra):
    uid = f"anon-then-{provider}"
    anon = api_for(mint_id_token(uid, provider="anonymous"))
    r = anon.post("/api/client/auth/session", {"display_name": "Tamu"}, format="json")
    assert r.status_code == 201 and r.json()["is_anonymous"] is True
    client_id = r.json()["id"]

    # History made while anonymous: a free-trial session with a message.
    from halobestie.testing.fixtures import Actor

    budi = make_mitra("Budi", online=True)
    actor = Actor(Client.objects.get(pk=client_id), mint_id_token(uid, provider="anonymous"))
    session = start_trial_session(actor, budi)
    r = actor.api.post(f"/api/client/sessions/{session['id']}/messages",
                       {"client_message_id": "a1", "body": "halo"}, format="json")
    assert r.status_code == 201

    # Linking keeps the Firebase UID; the provider changes.
    linked = api_for(mint_id_token(uid, provider=provider, **extra))
    r = linked.post("/api/client/auth/session", format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["id"] == client_id
    assert body["is_anonymous"] is False and body["is_registered"] is True
    assert body["display_name"] == "Tamu"
    assert body["free_trial_used"] is True
    assert Client.objects.count() == 1
    row = Client.objects.get(pk=client_id)
    assert row.sign_in_provider == provider
    if provider == "phone":
        assert row.phone == extra["phone"]
    else:
        assert row.email == extra["email"]
    sessions = linked.get("/api/client/sessions").json()["results"]
    assert [s["id"] for s in sessions] == [session["id"]]
    msgs = linked.get(f"/api/client/sessions/{session['id']}/messages").json()["results"]
    assert "halo" in [m["body"] for m in msgs]
    assert Session.objects.get(pk=session["id"]).client_id == row.id


def test_a_registered_client_never_becomes_anonymous_again():
    uid = "uid-reg"
    api_for(mint_id_token(uid, provider="google.com")).post("/api/client/auth/session")
    r = api_for(mint_id_token(uid, provider="anonymous")).post("/api/client/auth/session")
    assert r.status_code == 200
    assert r.json()["is_anonymous"] is False


def test_any_client_path_creates_the_client_on_first_use():
    api = api_for(mint_id_token("uid-direct", provider="anonymous"))
    r = api.get("/api/client/me")
    assert r.status_code == 200
    assert r.json()["is_anonymous"] is True
    assert Client.objects.filter(firebase_uid="uid-direct").count() == 1


def test_sign_in_validation_error_shape():
    api = api_for(mint_id_token("uid-long", provider="google.com"))
    r = api.post("/api/client/auth/session", {"display_name": "x" * 61}, format="json")
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "validation_error"
    assert set(body["fields"]) == {"display_name"}
    assert all(isinstance(m, str) for m in body["fields"]["display_name"])
    assert not Client.objects.filter(firebase_uid="uid-long").exists()


def test_get_me(client_ani):
    r = client_ani.api.get("/api/client/me")
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= CLIENT_KEYS
    assert body["id"] == str(client_ani.id)
    assert body["display_name"] == "Ani"


def test_patch_me_changes_the_display_name(client_ani):
    r = client_ani.api.patch("/api/client/me", {"display_name": "  Ani  Baru "}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["display_name"] == "Ani Baru"
    assert client_ani.refresh().display_name == "Ani Baru"
    assert client_ani.api.get("/api/client/me").json()["display_name"] == "Ani Baru"


@pytest.mark.parametrize("payload,field", [
    ({}, "display_name"),
    ({"display_name": ""}, "display_name"),
    ({"display_name": "   "}, "display_name"),
    ({"display_name": "y" * 61}, "display_name"),
    ({"display_name": None}, "display_name"),
])
def test_patch_me_validation_errors(client_ani, payload, field):
    r = client_ani.api.patch("/api/client/me", payload, format="json")
    assert r.status_code == 400, r.content
    body = r.json()
    assert body["code"] == "validation_error"
    assert isinstance(body["detail"], str)
    assert field in body["fields"] and body["fields"][field]
    assert client_ani.refresh().display_name == "Ani"


def test_patch_me_ignores_read_only_fields(client_ani):
    r = client_ani.api.patch("/api/client/me", {"display_name": "Ani", "is_anonymous": True,
                                                "free_trial_used": True, "id": str(uuid.uuid4())},
                             format="json")
    assert r.status_code == 200
    row = client_ani.refresh()
    assert row.is_anonymous is False and row.free_trial_used is False
    assert r.json()["id"] == str(row.id)


def test_blocked_client_can_still_sign_in_and_read(client_ani):
    from accounts.services import client_set_blocked

    client_set_blocked(client=client_ani.user, blocked=True, actor=None, reason="abuse")
    assert client_ani.api.post("/api/client/auth/session").status_code == 200
    assert client_ani.api.get("/api/client/me").status_code == 200
    assert client_ani.api.get("/api/client/sessions").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_racing_first_sign_ins_make_one_client():
    from halobestie.testing.concurrency import race

    token = mint_id_token("uid-racer", provider="anonymous")

    def sign_in():
        r = api_for(token).post("/api/client/auth/session", {"display_name": "Balap"}, format="json")
        return r.status_code, r.json()

    results = race([sign_in] * 6)
    assert sorted(status for status, _ in results) == [200] * 5 + [201]
    assert len({body["id"] for _, body in results}) == 1
    assert Client.objects.filter(firebase_uid="uid-racer").count() == 1
