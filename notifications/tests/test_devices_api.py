"""POST /api/shared/devices and DELETE /api/shared/devices/{fcm_token} (api.md, Shared)."""

from __future__ import annotations

import pytest

from halobestie.testing.fixtures import make_client, make_mitra
from notifications.models import Device
from notifications.selectors import devices_for
from notifications.services import MAX_DEVICES_PER_USER

from .helpers import fcm_token

pytestmark = pytest.mark.django_db

URL = "/api/shared/devices"


def register(actor, token: str, platform: str = "android"):
    return actor.api.post(URL, {"fcm_token": token, "platform": platform}, format="json")


def test_register_then_same_token_again(client_ani):
    token = fcm_token()
    r = register(client_ani, token)
    assert r.status_code == 201
    assert r.json()["fcm_token"] == token and r.json()["platform"] == "android"
    r = register(client_ani, token, "ios")  # e.g. a restore onto another phone model
    assert r.status_code == 200
    device = Device.objects.get(fcm_token=token)
    assert (device.client_id, device.mitra_id, device.platform) == (client_ani.id, None, "ios")


def test_mitra_registers_too_and_several_devices_per_user(mitra_budi):
    tokens = [fcm_token("a"), fcm_token("b")]
    assert [register(mitra_budi, t).status_code for t in tokens] == [201, 201]
    assert set(devices_for(mitra_budi.user).values_list("fcm_token", flat=True)) == set(tokens)
    assert Device.objects.filter(mitra=mitra_budi.user, client=None).count() == 2


def test_token_moves_to_the_latest_signer(client_ani, client_citra, mitra_budi):
    token = fcm_token("shared-phone")
    assert register(client_ani, token).status_code == 201
    assert register(client_citra, token).status_code == 201  # new for Citra
    assert list(devices_for(client_ani.user)) == []
    assert [d.fcm_token for d in devices_for(client_citra.user)] == [token]
    # Across roles as well (the owner is one of client or mitra, never both).
    assert register(mitra_budi, token).status_code == 201
    device = Device.objects.get(fcm_token=token)
    assert (device.client_id, device.mitra_id) == (None, mitra_budi.id)
    assert Device.objects.count() == 1


def test_old_devices_beyond_the_limit_are_forgotten(client_ani):
    tokens = [fcm_token(f"d{i}") for i in range(MAX_DEVICES_PER_USER + 2)]
    for token in tokens:
        assert register(client_ani, token).status_code == 201
    kept = set(devices_for(client_ani.user).values_list("fcm_token", flat=True))
    assert kept == set(tokens[2:])


def test_delete_own_token(client_ani):
    token = fcm_token()
    register(client_ani, token)
    r = client_ani.api.delete(f"{URL}/{token}")
    assert r.status_code == 204
    assert not Device.objects.filter(fcm_token=token).exists()
    r = client_ani.api.delete(f"{URL}/{token}")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_delete_someone_elses_or_unknown_token_is_404(client_ani, mitra_budi):
    token = fcm_token()
    register(mitra_budi, token)
    for path in (token, fcm_token("unknown"), "not a token!", "x" * 2000):
        r = client_ani.api.delete(f"{URL}/{path}")
        assert r.status_code == 404, path
        assert r.json() == {"code": "not_found", "detail": "Device not found."}
    assert Device.objects.filter(fcm_token=token, mitra=mitra_budi.user).exists()


@pytest.mark.parametrize("body, field", [
    ({"platform": "android"}, "fcm_token"),
    ({"fcm_token": "short", "platform": "android"}, "fcm_token"),
    ({"fcm_token": "a" * 1025, "platform": "android"}, "fcm_token"),
    ({"fcm_token": "has spaces and / slashes " * 3, "platform": "android"}, "fcm_token"),
    ({"fcm_token": fcm_token() + "\n", "platform": "android"}, "fcm_token"),
    ({"fcm_token": fcm_token()}, "platform"),
    ({"fcm_token": fcm_token(), "platform": "windows"}, "platform"),
    ({"fcm_token": [fcm_token()], "platform": "ios"}, "fcm_token"),
])
def test_validation(client_ani, body, field):
    r = client_ani.api.post(URL, body, format="json")
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"
    assert field in r.json()["fields"]
    assert Device.objects.count() == 0


def test_needs_a_signed_in_user(anon_api):
    r = anon_api.post(URL, {"fcm_token": fcm_token(), "platform": "ios"}, format="json")
    assert r.status_code == 401
    assert r.json()["code"] == "not_authenticated"
    r = anon_api.delete(f"{URL}/{fcm_token()}")
    assert r.status_code == 401


def test_devices_for_orders_latest_first(db):
    ani = make_client("Ani")
    first, second = fcm_token("first"), fcm_token("second")
    register(ani, first)
    register(ani, second)
    register(ani, first)  # registered again: the most recent
    assert [d.fcm_token for d in devices_for(ani.user)] == [first, second]
    budi = make_mitra("Budi")
    assert list(devices_for(budi.user)) == []
