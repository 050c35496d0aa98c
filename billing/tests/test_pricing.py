"""GET /api/client/pricing: real tiers, and whether this client may use the free trial."""

import pytest

from billing.models import Tier
from halobestie.testing.fixtures import make_client

pytestmark = pytest.mark.django_db


def _settings(**changes):
    from accounts.models import PlatformSettings
    from accounts.selectors import forget_platform_settings

    PlatformSettings.objects.update_or_create(id=1, defaults=changes)
    forget_platform_settings()


def test_pricing_lists_active_tiers_in_order(client_ani):
    long = Tier.objects.create(kind="session", name="Curhat 60 menit", minutes=60, price=90000, sort_order=2)
    short = Tier.objects.create(kind="session", name="Curhat 30 menit", minutes=30, price=50000, sort_order=1)
    Tier.objects.create(kind="session", name="Lama", minutes=45, price=1, is_active=False)
    ext = Tier.objects.create(kind="extension", name="Tambah 15 menit", minutes=15, price=25000)

    r = client_ani.api.get("/api/client/pricing")
    assert r.status_code == 200
    assert r.json() == {
        "tiers": [
            {"id": str(short.id), "name": "Curhat 30 menit", "minutes": 30, "price": 50000},
            {"id": str(long.id), "name": "Curhat 60 menit", "minutes": 60, "price": 90000},
        ],
        "extension_tiers": [{"id": str(ext.id), "name": "Tambah 15 menit", "minutes": 15, "price": 25000}],
        "free_trial": {"enabled": True, "minutes": 15, "eligible": True},
    }


def test_free_trial_used_is_not_eligible(client_ani):
    client_ani.user.free_trial_used = True
    client_ani.user.save()
    assert client_ani.api.get("/api/client/pricing").json()["free_trial"] == {
        "enabled": True,
        "minutes": 15,
        "eligible": False,
    }


def test_free_trial_turned_off(client_ani):
    _settings(free_trial_enabled=False, free_trial_minutes=20)
    assert client_ani.api.get("/api/client/pricing").json()["free_trial"] == {
        "enabled": False,
        "minutes": 20,
        "eligible": False,
    }


def test_anonymous_client_follows_anonymous_trial_allowed(db):
    anon = make_client("Eka", anonymous=True)
    assert anon.api.get("/api/client/pricing").json()["free_trial"]["eligible"] is True
    _settings(anonymous_trial_allowed=False)
    assert anon.api.get("/api/client/pricing").json()["free_trial"]["eligible"] is False
    registered = make_client("Fira")
    assert registered.api.get("/api/client/pricing").json()["free_trial"]["eligible"] is True


def test_pricing_needs_a_client_token(mitra_budi, anon_api):
    assert mitra_budi.api.get("/api/client/pricing").status_code == 403
    r = anon_api.get("/api/client/pricing")
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
