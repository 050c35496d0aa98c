"""Pricing tiers: list, create, edit, deactivate/reactivate — all audited."""

from __future__ import annotations

import pytest

from accounts.models import AuditLog
from billing.models import Tier

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]


def test_list_groups_session_and_extension_tiers(cc, session_tier, extension_tier):
    html = cc.get("/tiers/").content.decode()
    assert "Curhat 30 menit" in html and "Tambah 15 menit" in html
    assert html.index("Session tiers") < html.index("Curhat 30 menit") < html.index("Extension tiers")
    assert html.index("Extension tiers") < html.index("Tambah 15 menit")


def test_create_tier(cc_admin, admin_staff):
    r = cc_admin.post(
        "/tiers/new/",
        {"kind": "session", "name": " Curhat  45 menit ", "minutes": "45", "price": "70000", "sort_order": "3"},
    )
    assert r.status_code == 302
    tier = Tier.objects.get()
    assert (tier.kind, tier.name, tier.minutes, tier.price, tier.sort_order, tier.is_active) == (
        "session",
        "Curhat 45 menit",
        45,
        70000,
        3,
        True,
    )
    row = AuditLog.objects.get(action="tier.create")
    assert row.actor == admin_staff and row.target_id == str(tier.id) and row.after["price"] == 70000


def test_create_tier_rejects_bad_values(cc_admin):
    r = cc_admin.post("/tiers/new/", {"kind": "session", "name": "Gratis?", "minutes": "0", "price": "-1", "sort_order": "0"})
    assert r.status_code == 200 and b"has-error" in r.content
    assert not Tier.objects.exists()


def test_edit_tier_audits_the_change(cc_admin, session_tier):
    r = cc_admin.post(
        f"/tiers/{session_tier.id}/edit/",
        {"name": session_tier.name, "minutes": "30", "price": "55000", "sort_order": "0", "kind": "extension"},
    )
    assert r.status_code == 302
    session_tier.refresh_from_db()
    assert session_tier.price == 55000
    assert session_tier.kind == "session"  # the kind of an existing tier cannot change
    row = AuditLog.objects.get(action="tier.update")
    assert row.before == {"price": 50000} and row.after == {"price": 55000}


def test_deactivate_and_reactivate(cc_admin, admin_staff, session_tier):
    assert cc_admin.post(f"/tiers/{session_tier.id}/active/", {"active": "0"}).status_code == 302
    session_tier.refresh_from_db()
    assert not session_tier.is_active
    assert AuditLog.objects.filter(action="tier.deactivate", actor=admin_staff).exists()
    cc_admin.post(f"/tiers/{session_tier.id}/active/", {"active": "1"})
    session_tier.refresh_from_db()
    assert session_tier.is_active
    assert AuditLog.objects.filter(action="tier.activate").exists()
    assert cc_admin.get(f"/tiers/{session_tier.id}/active/").status_code == 405
