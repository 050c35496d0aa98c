"""Clients: list, search, detail (sessions, transactions, devices), block/unblock."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditLog
from halobestie.testing.fixtures import make_client
from notifications.models import Device

from .factories import live_session

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]


def test_list_and_search(cc):
    ani = make_client("Ani Lestari").user
    make_client("Citra")
    r = cc.get("/clients/")
    assert b"Ani Lestari" in r.content and b"Citra" in r.content
    r = cc.get("/clients/", {"q": "lestari"})
    assert b"Ani Lestari" in r.content and b"Citra" not in r.content
    r = cc.get("/clients/", {"q": str(ani.id)[:8]})
    assert b"Ani Lestari" in r.content


def test_list_queries_do_not_grow_with_rows(cc):
    live_session()
    with CaptureQueriesContext(connection) as few:
        cc.get("/clients/")
    for _ in range(8):
        live_session()
    with CaptureQueriesContext(connection) as many:
        cc.get("/clients/")
    assert len(many) == len(few)


def test_detail_shows_sessions_transactions_and_devices(cc, session_tier):
    client = make_client("Ani").user
    session = live_session(client=client, tier=session_tier)
    Device.objects.create(client=client, fcm_token="tok-ani-ios", platform="ios")
    r = cc.get(f"/clients/{client.id}/")
    html = r.content.decode()
    assert r.status_code == 200
    assert str(session.id)[:8] in html
    assert "awaiting_payment" in html
    assert "Rp 50.000" in html and "pending" in html
    assert "iOS" in html or "Ios" in html
    assert client.alias in html


def test_detail_queries_do_not_grow_with_rows(cc, session_tier):
    from billing.models import Transaction

    client = make_client("Ani").user
    live_session(client=client, tier=session_tier)
    with CaptureQueriesContext(connection) as few:
        cc.get(f"/clients/{client.id}/")
    for n in range(5):  # closed paid sessions in the past
        old = live_session(client=make_client(f"X{n}").user, tier=session_tier)
        old.__class__.objects.filter(pk=old.pk).update(client=client, state="closed")
        Transaction.objects.filter(session=old).update(client=client)
    with CaptureQueriesContext(connection) as many:
        cc.get(f"/clients/{client.id}/")
    assert len(many) == len(few)


def test_block_and_unblock(cc_supervisor, supervisor):
    client = make_client("Ani").user
    r = cc_supervisor.post(f"/clients/{client.id}/block/", {"reason": "Abusive to mitras"})
    assert r.status_code == 302
    client.refresh_from_db()
    assert client.is_blocked and client.blocked_reason == "Abusive to mitras"
    row = AuditLog.objects.get(action="client.block")
    assert row.actor == supervisor and row.after["is_blocked"] is True
    assert b'data-testid="blocked"' in cc_supervisor.get(f"/clients/{client.id}/").content
    cc_supervisor.post(f"/clients/{client.id}/unblock/")
    client.refresh_from_db()
    assert not client.is_blocked and client.blocked_reason == ""
    assert AuditLog.objects.filter(action="client.unblock", actor=supervisor).exists()


def test_block_is_post_only(cc):
    client = make_client("Ani").user
    assert cc.get(f"/clients/{client.id}/block/").status_code == 405
    client.refresh_from_db()
    assert not client.is_blocked
