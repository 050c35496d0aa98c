"""Session payment from match to active, and every way it does not get paid."""

from datetime import timedelta

import pytest

from billing.services.payments import payment_sweep_overdue
from chat.models import Message, Session, SessionClosure
from chat.services.lifecycle import session_sweep_overdue
from halobestie.realtime import client_group, mitra_group
from halobestie.testing.events import EventProbe
from pairing.models import MitraPresence
from pairing.selectors import mitra_live_sessions

from .helpers import pay, session_tx, start_paid_session

pytestmark = pytest.mark.django_db(transaction=True)


def test_match_invoice_paid_active_with_events(fake_xendit, client_ani, mitra_budi, session_tier):
    with EventProbe(client_group(client_ani.id), mitra_group(mitra_budi.id)) as probe:
        session = start_paid_session(client_ani, mitra_budi, session_tier)
        tx = session_tx(session["id"])
        invoiced = probe.wait_event("payment.updated", group=client_group(client_ani.id), status="pending")
        assert invoiced["data"] == {
            "id": str(tx.id),
            "status": "pending",
            "amount": 50000,
            "invoice_url": tx.invoice_url,
            "expires_at": tx.expires_at.isoformat(),
            "session_id": session["id"],
            "kind": "session",
            "extension_id": None,
        }

        assert pay(tx) == "paid"
        paid = probe.wait_event("payment.updated", group=client_group(client_ani.id), status="paid")
        assert paid["data"]["session_id"] == session["id"]
        for group in (client_group(client_ani.id), mitra_group(mitra_budi.id)):
            updated = probe.wait_event("session.updated", group=group, state="active")
            assert updated["data"]["payment"]["status"] == "paid"
        probe.settle()
        # Payment news goes to the client only.
        assert probe.events("payment.updated", group=mitra_group(mitra_budi.id)) == []

    body = client_ani.api.get(f"/api/client/sessions/{session['id']}").json()
    assert body["state"] == "active" and body["payment"]["status"] == "paid"
    assert body["ends_at"] is not None
    codes = list(Message.objects.filter(session_id=session["id"]).values_list("system_code", flat=True))
    assert codes == ["session_paid"]


def test_unpaid_at_payment_timeout_is_cancelled_and_the_invoice_expired(
    fake_xendit, client_ani, mitra_budi, session_tier
):
    session = start_paid_session(client_ani, mitra_budi, session_tier)
    tx = session_tx(session["id"])
    assert mitra_live_sessions(mitra_budi.id) == 1

    # Not yet due: nothing happens.
    assert payment_sweep_overdue(now=tx.expires_at - timedelta(seconds=1)) == 0

    assert payment_sweep_overdue(now=tx.expires_at + timedelta(seconds=1)) == 1
    tx.refresh_from_db()
    assert tx.status == "expired"
    assert Session.objects.get(pk=session["id"]).state == "cancelled"
    closure = SessionClosure.objects.get(session_id=session["id"])
    assert (closure.closed_by, closure.reason) == ("system", "payment_timeout")
    assert fake_xendit.expired == [tx.xendit_invoice_id]
    assert mitra_live_sessions(mitra_budi.id) == 0  # the mitra's slot is free again
    assert MitraPresence.objects.get(mitra=mitra_budi.user).status == "online"

    # Idempotent: the next sweeps (chat's and ours) find nothing to do.
    assert payment_sweep_overdue(now=tx.expires_at + timedelta(seconds=5)) == 0
    assert session_sweep_overdue(now=tx.expires_at + timedelta(seconds=5)) == 0
    assert fake_xendit.expired == [tx.xendit_invoice_id]


def test_chat_sweep_cancels_and_billing_expires_the_payment(fake_xendit, client_ani, mitra_budi, session_tier):
    session = start_paid_session(client_ani, mitra_budi, session_tier)
    tx = session_tx(session["id"])
    assert session_sweep_overdue(now=tx.expires_at + timedelta(seconds=1)) >= 1
    tx.refresh_from_db()
    assert tx.status == "expired"
    assert fake_xendit.expired == [tx.xendit_invoice_id]
    r = client_ani.api.get(f"/api/client/sessions/{session['id']}")
    assert r.json()["state"] == "cancelled" and r.json()["payment"]["status"] == "expired"


def test_paid_after_the_client_cancelled_needs_a_refund(fake_xendit, client_ani, mitra_budi, session_tier):
    session = start_paid_session(client_ani, mitra_budi, session_tier)
    tx = session_tx(session["id"])
    r = client_ani.api.post(f"/api/client/sessions/{session['id']}/end", {}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    tx.refresh_from_db()
    assert tx.status == "expired"
    assert fake_xendit.expired == [tx.xendit_invoice_id]

    # The customer paid in the instant before Xendit expired the invoice.
    assert pay(tx) == "refund_needed"
    tx.refresh_from_db()
    assert tx.status == "refund_needed" and tx.paid_at is not None
    assert "cancelled" in tx.note
    assert Session.objects.get(pk=session["id"]).state == "cancelled"
    assert client_ani.api.get(f"/api/client/sessions/{session['id']}").json()["payment"]["status"] == "refund_needed"
    # A duplicate of that late payment changes nothing more.
    assert pay(tx) == "duplicate"


def test_expired_callback_cancels_the_waiting_session(fake_xendit, client_ani, mitra_budi, session_tier):
    session = start_paid_session(client_ani, mitra_budi, session_tier)
    tx = session_tx(session["id"])
    assert pay(tx, "EXPIRED") == "expired"
    tx.refresh_from_db()
    assert tx.status == "expired" and tx.raw_callback["status"] == "EXPIRED"
    assert Session.objects.get(pk=session["id"]).state == "cancelled"
    # Xendit expired it itself: we do not call back to expire it again.
    assert fake_xendit.expired == []
    assert pay(tx, "EXPIRED") == "ignored"


def test_free_trial_session_has_no_payment(client_ani, mitra_budi):
    r = client_ani.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json")
    session = mitra_budi.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept").json()
    assert session["state"] == "active" and session["payment"] is None
