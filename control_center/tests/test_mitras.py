"""Mitras: list, search, create, edit, deactivate/reactivate, force offline, detail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditLog, Mitra
from chat.models import Feedback, Session
from halobestie.testing.fixtures import make_client, make_mitra
from notifications.models import Device
from pairing.models import MitraOnlineLog, MitraPresence
from pairing.services import presence_go_offline, presence_go_online

from .factories import live_session

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]


def test_list_and_search(cc):
    make_mitra("Sari Psikolog")
    make_mitra("Raka Konselor", online=True)
    r = cc.get("/mitras/")
    assert b"Sari Psikolog" in r.content and b"Raka Konselor" in r.content
    r = cc.get("/mitras/", {"q": "raka"})
    assert b"Raka Konselor" in r.content and b"Sari Psikolog" not in r.content
    assert b"presence-online" in r.content


def test_list_queries_do_not_grow_with_rows(cc):
    for n in range(2):
        live_session(mitra=make_mitra(f"M{n}", online=True).user)
    with CaptureQueriesContext(connection) as few:
        cc.get("/mitras/")
    for n in range(8):
        live_session(mitra=make_mitra(f"N{n}", online=True).user)
    with CaptureQueriesContext(connection) as many:
        cc.get("/mitras/")
    assert len(many) == len(few)


def test_create_mitra_writes_and_audits(cc_admin, admin_staff):
    r = cc_admin.post(
        "/mitras/new/",
        {"phone": "0812 3456 7890", "display_name": "  Bestie   Nia ", "bio": "Psikolog", "photo_url": ""},
    )
    mitra = Mitra.objects.get(phone="+6281234567890")
    assert r.status_code == 302 and r["Location"] == f"/mitras/{mitra.id}/"
    assert mitra.display_name == "Bestie Nia" and mitra.is_active
    row = AuditLog.objects.get(action="mitra.create")
    assert row.actor == admin_staff and row.target_id == str(mitra.id)
    assert b"Mitra Bestie Nia created" in cc_admin.get(r["Location"]).content


def test_create_mitra_shows_service_errors_on_the_field(cc_admin):
    Mitra.objects.create(phone="+6281234567890", display_name="Nia")
    r = cc_admin.post("/mitras/new/", {"phone": "+6281234567890", "display_name": "Nia 2"})
    assert r.status_code == 200
    assert b"A mitra with this phone already exists." in r.content
    r = cc_admin.post("/mitras/new/", {"phone": "12345", "display_name": "Nia 3"})
    assert b"Phone must be E.164" in r.content
    assert Mitra.objects.count() == 1
    assert not AuditLog.objects.filter(action="mitra.create").exists()


def test_edit_mitra(cc_admin):
    mitra = make_mitra("Sari").user
    r = cc_admin.get(f"/mitras/{mitra.id}/edit/")
    assert mitra.phone.encode() in r.content
    r = cc_admin.post(
        f"/mitras/{mitra.id}/edit/",
        {"phone": mitra.phone, "display_name": "Sari W.", "bio": "Baru", "photo_url": "https://example.com/sari.jpg"},
    )
    assert r.status_code == 302
    mitra.refresh_from_db()
    assert (mitra.display_name, mitra.bio, mitra.photo_url) == ("Sari W.", "Baru", "https://example.com/sari.jpg")
    row = AuditLog.objects.get(action="mitra.update")
    assert row.before["display_name"] == "Sari" and row.after["display_name"] == "Sari W."


def test_deactivate_and_reactivate(cc_admin, admin_staff):
    mitra = make_mitra("Sari", online=True).user
    r = cc_admin.post(f"/mitras/{mitra.id}/active/", {"active": "0"})
    assert r.status_code == 302
    mitra.refresh_from_db()
    assert not mitra.is_active and mitra.deactivated_at
    assert MitraPresence.objects.get(mitra=mitra).status == "offline"
    assert MitraOnlineLog.objects.get(mitra=mitra).end_reason == "deactivated"
    assert AuditLog.objects.filter(action="mitra.deactivate", actor=admin_staff, target_id=str(mitra.id)).exists()
    cc_admin.post(f"/mitras/{mitra.id}/active/", {"active": "1"})
    mitra.refresh_from_db()
    assert mitra.is_active
    assert AuditLog.objects.filter(action="mitra.activate").exists()


def test_force_offline(cc, operator):
    mitra = make_mitra("Sari", online=True).user
    r = cc.post(f"/mitras/{mitra.id}/force-offline/")
    assert r.status_code == 302
    assert MitraPresence.objects.get(mitra=mitra).status == "offline"
    assert MitraOnlineLog.objects.get(mitra=mitra).end_reason == "staff"
    row = AuditLog.objects.get(action="mitra.force_offline")
    assert row.actor == operator and row.before == {"status": "online"} and row.after == {"status": "offline"}
    # Already offline: refused, nothing more audited.
    r = cc.post(f"/mitras/{mitra.id}/force-offline/", follow=True)
    assert b"already offline" in r.content
    assert AuditLog.objects.filter(action="mitra.force_offline").count() == 1


def test_detail_shows_presence_logs_sessions_rating_and_devices(cc):
    mitra = make_mitra("Sari", online=True).user
    first_log = MitraOnlineLog.objects.get(mitra=mitra)
    MitraOnlineLog.objects.filter(pk=first_log.pk).update(started_at=timezone.now() - timedelta(minutes=65))
    presence_go_offline(mitra=mitra, reason="manual")
    presence_go_online(mitra=mitra)
    live = live_session(mitra=mitra)
    closed = live_session(client=make_client("Lama").user, mitra=make_mitra("Other", online=True).user)
    Session.objects.filter(pk=closed.pk).update(mitra=mitra, state="closed")
    Feedback.objects.create(session=closed, mitra=mitra, rating=4)
    old = live_session(client=make_client("Tua").user, mitra=make_mitra("Other2", online=True).user)
    Session.objects.filter(pk=old.pk).update(mitra=mitra, state="closed")
    old_feedback = Feedback.objects.create(session=old, mitra=mitra, rating=1)
    Feedback.objects.filter(pk=old_feedback.pk).update(created_at=timezone.now() - timedelta(days=40))
    Device.objects.create(mitra=mitra, fcm_token="tok-sari-android", platform="android")

    r = cc.get(f"/mitras/{mitra.id}/")
    html = r.content.decode()
    assert r.status_code == 200
    assert 'data-testid="presence">online<' in html
    assert "1h 05m" in html  # the finished online period's duration
    assert "online now" in html
    assert "Manual" in html
    assert str(live.id)[:8] in html
    assert "4.00 from 1 rating" in html  # the 40-day-old rating is outside the window
    assert "Android" in html and "Send test push" in html


def test_unknown_mitra_is_404(cc):
    import uuid

    assert cc.get(f"/mitras/{uuid.uuid4()}/").status_code == 404
