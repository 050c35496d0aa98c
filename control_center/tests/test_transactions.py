"""Transactions: filtered list, the needs-attention view, refunds and incidents."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditLog
from billing.models import PaymentIncident, Transaction
from control_center import selectors
from halobestie.testing.fixtures import make_client

from .factories import live_session

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]


def _paid_session(tier, status="pending", **changes):
    session = live_session(client=make_client("Pay").user, tier=tier)
    Transaction.objects.filter(session=session).update(status=status, **changes)
    return Transaction.objects.get(session=session)


def test_list_filters(cc, session_tier):
    pending = _paid_session(session_tier)
    paid = _paid_session(session_tier, "paid", paid_at=timezone.now())
    old = _paid_session(session_tier, "expired")
    Transaction.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))

    def shown(**query):
        html = cc.get("/transactions/", query).content.decode()
        return {tx.external_id[:21] for tx in (pending, paid, old) if tx.external_id[:21] in html}

    assert shown() == {pending.external_id[:21], paid.external_id[:21], old.external_id[:21]}
    assert shown(status="paid") == {paid.external_id[:21]}
    assert shown(kind="extension") == set()
    assert shown(day=(selectors.today_start().date() - timedelta(days=2)).isoformat()) == {old.external_id[:21]}


def test_list_queries_do_not_grow_with_rows(cc, session_tier):
    _paid_session(session_tier)
    with CaptureQueriesContext(connection) as few:
        cc.get("/transactions/")
    for _ in range(6):
        _paid_session(session_tier)
    with CaptureQueriesContext(connection) as many:
        cc.get("/transactions/")
    assert len(many) == len(few)


def test_mark_refunded(cc_supervisor, supervisor, session_tier):
    tx = _paid_session(session_tier, "refund_needed", paid_at=timezone.now())
    other = _paid_session(session_tier, "paid", paid_at=timezone.now())
    html = cc_supervisor.get("/transactions/attention/").content.decode()
    assert f"/transactions/{tx.id}/refunded/" in html and f"/transactions/{other.id}/refunded/" not in html

    r = cc_supervisor.post(f"/transactions/{tx.id}/refunded/", {"note": ""}, follow=True)
    assert b"Write a short note first." in r.content
    tx.refresh_from_db()
    assert tx.status == "refund_needed"

    r = cc_supervisor.post(f"/transactions/{tx.id}/refunded/", {"note": "Refunded via Xendit dashboard #R-77"})
    assert r.status_code == 302
    tx.refresh_from_db()
    assert tx.status == "refunded" and tx.note == "Refunded via Xendit dashboard #R-77"
    row = AuditLog.objects.get(action="transaction.refunded")
    assert row.actor == supervisor and row.target_id == str(tx.id)

    r = cc_supervisor.post(f"/transactions/{other.id}/refunded/", {"note": "oops"}, follow=True)
    assert b"not refund_needed" in r.content
    other.refresh_from_db()
    assert other.status == "paid"


def test_resolve_payment_incident(cc_supervisor, supervisor, session_tier):
    tx = _paid_session(session_tier)
    mismatch = PaymentIncident.objects.create(
        kind="amount_mismatch", external_id=tx.external_id, transaction=tx, payload={"paid_amount": 1000}
    )
    unknown = PaymentIncident.objects.create(kind="unknown_invoice", external_id="hb-nope", payload={"id": "x"})
    html = cc_supervisor.get("/transactions/attention/").content.decode()
    assert "amount mismatch" in html.lower() and "unknown invoice" in html.lower() and "hb-nope" in html

    r = cc_supervisor.post(f"/incidents/{unknown.id}/resolve/", {"note": "Test invoice from Xendit dashboard"})
    assert r.status_code == 302
    unknown.refresh_from_db()
    assert unknown.resolved_at and unknown.resolution_note == "Test invoice from Xendit dashboard"
    assert AuditLog.objects.filter(
        action="payment_incident.resolve", actor=supervisor, target_id=str(unknown.id)
    ).exists()
    html = cc_supervisor.get("/transactions/attention/").content.decode()
    assert "hb-nope" not in html and "amount mismatch" in html.lower()

    r = cc_supervisor.post(f"/incidents/{unknown.id}/resolve/", {"note": "again"}, follow=True)
    assert b"already resolved" in r.content
    assert mismatch.resolved_at is None


def test_dashboard_counts_what_needs_attention(cc, session_tier):
    _paid_session(session_tier, "refund_needed")
    PaymentIncident.objects.create(kind="unknown_invoice", external_id="hb-x", payload={})
    assert 'data-figure="needs_attention">2<' in cc.get("/").content.decode()
