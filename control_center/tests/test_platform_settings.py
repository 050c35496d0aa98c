"""The settings page: every key, grouped; saved through the audited service."""

from __future__ import annotations

import pytest

from accounts.models import AuditLog, PlatformSettings
from accounts.services import SETTINGS_KEYS
from control_center.forms import settings_groups

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]


def _current() -> dict:
    row, _ = PlatformSettings.objects.get_or_create(id=1)
    data = {}
    for key in SETTINGS_KEYS:
        value = getattr(row, key)
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        else:
            data[key] = str(value)
    return data


def test_the_page_has_every_key_in_its_group(cc):
    assert sorted(k for _, keys in settings_groups() for k in keys) == sorted(SETTINGS_KEYS)
    html = cc.get("/settings/").content.decode()
    assert "<legend>Other</legend>" not in html  # every key has its proper group
    for title in ("Anonymity", "Pairing and presence", "Session", "Billing", "Care and safety"):
        assert f"<legend>{title}</legend>" in html
    for key in SETTINGS_KEYS:
        assert f'name="{key}"' in html
    assert 'value="300,60"' in html


def test_saving_changes_writes_and_audits_only_what_changed(cc_admin, admin_staff):
    data = _current()
    data.update(
        max_customers_per_mitra="5",
        pairing_timeout="90",
        client_identity_for_mitra="display_name",
        ending_soon_warnings="60, 600",
    )
    data.pop("client_can_end_early")  # unchecked box = off
    r = cc_admin.post("/settings/", data)
    assert r.status_code == 302
    row = PlatformSettings.objects.get(id=1)
    assert (row.max_customers_per_mitra, row.pairing_timeout, row.client_identity_for_mitra) == (5, 90, "display_name")
    assert row.ending_soon_warnings == "600,60" and row.client_can_end_early is False
    audit = AuditLog.objects.get(action="settings.update")
    assert audit.actor == admin_staff
    assert audit.after == {
        "max_customers_per_mitra": 5,
        "pairing_timeout": 90,
        "client_identity_for_mitra": "display_name",
        "ending_soon_warnings": "600,60",
        "client_can_end_early": False,
    }
    assert audit.before["max_customers_per_mitra"] == 3


def test_service_refusals_show_on_the_fields(cc_admin):
    data = _current()
    data.update(pairing_timeout="5", ending_soon_warnings="soon")
    r = cc_admin.post("/settings/", data)
    assert r.status_code == 400
    html = r.content.decode()
    assert "must be between 10 and 3600" in html
    assert "must be a comma-separated list of seconds" in html
    assert PlatformSettings.objects.get(id=1).pairing_timeout == 60
    assert not AuditLog.objects.filter(action="settings.update").exists()

    data = _current()
    data.update(heartbeat_interval="100", auto_offline_after="90")
    r = cc_admin.post("/settings/", data)
    assert r.status_code == 400 and "Must be longer than heartbeat_interval." in r.content.decode()
    assert PlatformSettings.objects.get(id=1).heartbeat_interval == 30
