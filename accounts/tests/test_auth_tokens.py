"""Every way a bearer token can be wrong, over REST (the socket side is in halobestie/tests)."""

import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.firebase import TokenError, verify_id_token
from accounts.models import Client, Mitra
from halobestie.testing.fixtures import make_client, make_mitra
from halobestie.testing.tokens import mint_id_token

pytestmark = pytest.mark.django_db


def bearer(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_no_header_is_not_authenticated(anon_api):
    for path in ("/api/client/me", "/api/mitra/me", "/api/client/auth/session", "/api/mitra/presence"):
        method = anon_api.post if path.endswith("session") else anon_api.get
        r = method(path)
        assert_error(r, 401, "not_authenticated")
        assert r["WWW-Authenticate"].startswith("Bearer")
    assert Client.objects.count() == 0


@pytest.mark.parametrize("header", ["Bearer", "Basic dXNlcjpwYXNz", "Bearer a b", "Token abc"])
def test_malformed_authorization_header_is_invalid_token(header):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    assert_error(api.get("/api/client/me"), 401, "invalid_token")


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "x" * 9000, "eyJhbGciOiJub25lIn0.e30."])
def test_malformed_token_is_invalid_token(token):
    assert_error(bearer(token).get("/api/client/me"), 401, "invalid_token")
    assert_error(bearer(token).post("/api/client/auth/session"), 401, "invalid_token")
    assert Client.objects.count() == 0


def test_expired_token_is_refused_although_emulator_mode_skips_exp():
    token = mint_id_token("expired-user", provider="google.com", issued_at=time.time() - 7200, lifetime=3600)
    body = assert_error(bearer(token).post("/api/client/auth/session"), 401, "invalid_token")
    assert "expired" in body["detail"].lower()
    assert not Client.objects.filter(firebase_uid="expired-user").exists()


def test_token_issued_in_the_future_is_refused():
    token = mint_id_token("future-user", provider="google.com", issued_at=time.time() + 3600)
    assert_error(bearer(token).post("/api/client/auth/session"), 401, "invalid_token")


def test_wrong_audience_is_refused():
    token = mint_id_token("aud-user", provider="google.com", audience="someone-elses-project")
    body = assert_error(bearer(token).post("/api/client/auth/session"), 401, "invalid_token")
    assert "audience" in body["detail"].lower()


def test_wrong_issuer_is_refused():
    token = mint_id_token("iss-user", provider="google.com",
                          extra={"iss": "https://securetoken.google.com/another-project"})
    assert_error(bearer(token).post("/api/client/auth/session"), 401, "invalid_token")
    assert not Client.objects.filter(firebase_uid="iss-user").exists()


def test_token_for_another_project_is_refused():
    token = mint_id_token("proj-user", provider="google.com", project_id="another-project")
    assert_error(bearer(token).get("/api/client/me"), 401, "invalid_token")


def test_token_without_subject_is_refused():
    token = mint_id_token("nosub", provider="google.com", extra={"sub": ""})
    assert_error(bearer(token).get("/api/client/me"), 401, "invalid_token")


@pytest.fixture
def service_account_file(tmp_path, settings):
    """Production-like credentials: a service-account key file (never used on the network
    here; verifying an unsigned token must fail before any certificate is fetched)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": settings.FIREBASE_PROJECT_ID,
        "private_key_id": "test-key", "private_key": pem,
        "client_email": f"firebase-adminsdk@{settings.FIREBASE_PROJECT_ID}.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": "http://127.0.0.1:9/token",
    }))
    return str(path)


def test_unsigned_tokens_are_refused_outside_emulator_mode(service_account_file, monkeypatch):
    import os

    from firebase_admin import _auth_utils

    ani = make_client("Ani")
    unsigned = mint_id_token(ani.user.firebase_uid, provider="google.com")  # alg none, no kid
    no_kid = mint_id_token(ani.user.firebase_uid, provider="google.com", header={"alg": "RS256", "typ": "JWT"})
    hs256 = mint_id_token(ani.user.firebase_uid, provider="google.com",
                          header={"alg": "HS256", "kid": "k1", "typ": "JWT"}, signed=True)
    # Sanity: the same unsigned token is fine in emulator mode.
    assert bearer(unsigned).get("/api/client/me").status_code == 200
    from accounts.firebase import clear_cache

    clear_cache()
    monkeypatch.setitem(os.environ, "FIREBASE_AUTH_EMULATOR_HOST", os.environ["FIREBASE_AUTH_EMULATOR_HOST"])
    with override_settings(FIREBASE_AUTH_EMULATOR_HOST="", FIREBASE_CREDENTIALS_FILE=service_account_file):
        for token in (unsigned, no_kid, hs256):
            body = assert_error(bearer(token).get("/api/client/me"), 401, "invalid_token")
            assert "token" in body["detail"].lower()
            with pytest.raises(TokenError):
                verify_id_token(token)
        # firebase-admin really ran its non-emulated checks.
        assert not _auth_utils.is_emulated()
    # Back in emulator mode the environment follows the settings again.
    clear_cache()
    assert bearer(unsigned).get("/api/client/me").status_code == 200
    assert _auth_utils.is_emulated()


def test_client_token_on_mitra_paths_is_forbidden(client_ani):
    for method, path in [("get", "/api/mitra/me"), ("get", "/api/mitra/presence"),
                         ("put", "/api/mitra/presence"), ("get", "/api/mitra/pairing-requests"),
                         ("get", "/api/mitra/sessions"), ("post", "/api/mitra/auth/session")]:
        r = getattr(client_ani.api, method)(path, {"status": "online"} if method == "put" else None,
                                            format="json")
        assert r.status_code == 403, (path, r.content)
        assert r.json()["code"] in ("permission_denied", "mitra_not_registered"), (path, r.json())
    assert Mitra.objects.count() == 0


def test_mitra_token_on_client_paths_is_forbidden(db):
    budi = make_mitra("Budi")
    for method, path in [("get", "/api/client/me"), ("post", "/api/client/auth/session"),
                         ("get", "/api/client/sessions"),
                         ("post", "/api/client/pairing-requests")]:
        r = getattr(budi.api, method)(path, {"free_trial": True} if method == "post" else None, format="json")
        assert_error(r, 403, "permission_denied")
    # A mitra never becomes a client by knocking on the client app.
    assert Client.objects.count() == 0


def test_mitra_token_of_a_mitra_not_yet_linked_is_still_refused_on_client_paths(db):
    """The phone alone identifies the mitra before its first mitra sign-in links the uid."""
    from accounts.services import mitra_create

    mitra = mitra_create(phone="+628111222333", display_name="Eka")
    token = mint_id_token("fresh-phone-uid", provider="phone", phone=mitra.phone)
    assert_error(bearer(token).post("/api/client/auth/session"), 403, "permission_denied")
    assert_error(bearer(token).get("/api/client/me"), 403, "permission_denied")
    assert Client.objects.count() == 0


def test_verified_identity_is_cached_but_not_past_expiry():
    token = mint_id_token("cache-user", provider="google.com", lifetime=3600)
    first = verify_id_token(token)
    assert verify_id_token(token) is first
    assert first.uid == "cache-user" and first.provider == "google.com" and not first.is_anonymous
