"""Mitra sign-in: phone OTP only, matched to a staff-created mitra; nothing auto-created."""

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditLog, Client, Mitra
from accounts.services import mitra_create, mitra_set_active
from halobestie.testing.tokens import mint_id_token

pytestmark = pytest.mark.django_db

MITRA_KEYS = {"id", "display_name", "bio", "photo_url", "is_active"}


def api_for(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


@pytest.fixture
def sari(db) -> Mitra:
    return mitra_create(phone="+6281100000001", display_name="Bestie Sari", bio="Psikolog klinis")


def test_registered_phone_signs_in_and_links_the_uid(sari):
    api = api_for(mint_id_token("fb-sari", provider="phone", phone=sari.phone))
    r = api.post("/api/mitra/auth/session")
    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) >= MITRA_KEYS
    assert body == {**body, "id": str(sari.id), "display_name": "Bestie Sari", "bio": "Psikolog klinis",
                    "is_active": True}
    sari.refresh_from_db()
    assert sari.firebase_uid == "fb-sari"
    assert api.get("/api/mitra/me").json()["id"] == str(sari.id)
    assert Mitra.objects.count() == 1 and Client.objects.count() == 0


def test_unknown_phone_is_not_registered_and_nothing_is_created(sari):
    api = api_for(mint_id_token("fb-stranger", provider="phone", phone="+6289999999999"))
    r = api.post("/api/mitra/auth/session")
    assert r.status_code == 403
    assert r.json()["code"] == "mitra_not_registered"
    r = api.get("/api/mitra/me")
    assert r.status_code == 403 and r.json()["code"] == "mitra_not_registered"
    assert Mitra.objects.count() == 1
    assert Client.objects.count() == 0


def test_deactivated_mitra_is_refused(sari):
    api = api_for(mint_id_token("fb-sari", provider="phone", phone=sari.phone))
    assert api.post("/api/mitra/auth/session").status_code == 200
    mitra_set_active(mitra=sari, active=False, actor=None)
    for method, path in (("post", "/api/mitra/auth/session"), ("get", "/api/mitra/me"),
                         ("get", "/api/mitra/presence")):
        r = getattr(api, method)(path)
        assert r.status_code == 403, path
        assert r.json()["code"] == "account_deactivated"
    assert AuditLog.objects.filter(action="mitra.deactivate", target_id=str(sari.id)).exists()
    mitra_set_active(mitra=sari, active=True, actor=None)
    assert api.get("/api/mitra/me").status_code == 200


@pytest.mark.parametrize("provider,kw", [
    ("google.com", {"email": "sari@example.com"}),
    ("anonymous", {}),
    ("password", {"email": "sari@example.com"}),
    # A phone claim under another provider is not a phone OTP sign-in.
    ("google.com", {"phone": "+6281100000001"}),
])
def test_only_phone_otp_signs_a_mitra_in(sari, provider, kw):
    api = api_for(mint_id_token("fb-other", provider=provider, **kw))
    r = api.post("/api/mitra/auth/session")
    assert r.status_code == 403
    assert r.json()["code"] == "mitra_not_registered"
    sari.refresh_from_db()
    assert sari.firebase_uid is None
    assert Client.objects.count() == 0


def test_new_firebase_user_for_the_same_phone_takes_over_the_link(sari):
    assert api_for(mint_id_token("fb-old", provider="phone", phone=sari.phone)).post(
        "/api/mitra/auth/session").status_code == 200
    new = api_for(mint_id_token("fb-new", provider="phone", phone=sari.phone))
    assert new.post("/api/mitra/auth/session").status_code == 200
    sari.refresh_from_db()
    assert sari.firebase_uid == "fb-new"


def test_phone_numbers_are_normalised_on_create():
    mitra = mitra_create(phone="0812-3456-7890", display_name="Raka")
    assert mitra.phone == "+6281234567890"
    r = api_for(mint_id_token("fb-raka", provider="phone", phone="+6281234567890")).post("/api/mitra/auth/session")
    assert r.status_code == 200 and r.json()["id"] == str(mitra.id)
