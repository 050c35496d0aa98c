"""The "send test push" action on a user's device list."""

from __future__ import annotations

import pytest

from accounts.models import AuditLog
from halobestie.testing.fixtures import make_client, make_mitra
from notifications.models import Device

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]


def test_test_push_for_a_mitra_device(cc, operator):
    mitra = make_mitra("Sari").user
    device = Device.objects.create(mitra=mitra, fcm_token="tok-sari", platform="android")
    r = cc.post(f"/devices/{device.id}/test-push/", follow=True)
    assert r.redirect_chain[-1][0] == f"/mitras/{mitra.id}/"
    assert b"Test push queued for the Android device." in r.content
    # Audited once, by the push service itself.
    assert AuditLog.objects.filter(action="device.test_push", actor=operator, target_id=str(device.id)).count() == 1


def test_test_push_for_a_client_device_returns_to_the_client(cc):
    client = make_client("Ani").user
    device = Device.objects.create(client=client, fcm_token="tok-ani", platform="ios")
    r = cc.post(f"/devices/{device.id}/test-push/")
    assert r.status_code == 302 and r["Location"] == f"/clients/{client.id}/"
    assert AuditLog.objects.filter(action="device.test_push", target_id=str(device.id)).count() == 1
    assert cc.get(f"/devices/{device.id}/test-push/").status_code == 405
    assert cc.post("/devices/999999/test-push/").status_code == 404
