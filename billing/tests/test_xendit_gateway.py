"""The real xendit-python SDK against a local fake Xendit: what we send, what we keep."""

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.gateways import GatewayError, XenditGateway
from billing.models import Transaction
from billing.services.payments import payment_sweep_overdue
from chat.models import Session

from .helpers import SECRET_KEY, session_tx, start_paid_session

pytestmark = pytest.mark.django_db(transaction=True)


def test_paid_match_creates_invoice_with_amount_external_id_and_expiry(
    fake_xendit, client_ani, mitra_budi, session_tier
):
    before = timezone.now()
    session = start_paid_session(client_ani, mitra_budi, session_tier)

    assert session["state"] == "awaiting_payment"
    tx = session_tx(session["id"])
    assert len(fake_xendit.created) == 1
    body = fake_xendit.created[0]
    assert body["external_id"] == tx.external_id
    assert body["amount"] == 50000
    assert body["currency"] == "IDR"
    # The invoice lives exactly as long as the session waits for payment (600 s default).
    assert 595 <= body["invoice_duration"] <= 600
    assert "Ani" not in body["description"]
    auth = fake_xendit.headers[0]["Authorization"]
    assert auth == "Basic " + base64.b64encode(f"{SECRET_KEY}:".encode()).decode()

    assert tx.status == "pending" and tx.gateway == "xendit" and tx.amount == 50000
    assert tx.xendit_invoice_id == "inv_0001"
    assert tx.invoice_url == "https://checkout-staging.xendit.co/web/inv_0001"
    assert before + timedelta(seconds=599) <= tx.expires_at <= timezone.now() + timedelta(seconds=600)
    assert tx.expires_at == Session.objects.get(pk=session["id"]).payment_due_at
    # The accept's answer already carries the invoice (created right after commit).
    assert session["payment"] == {
        "id": str(tx.id),
        "status": "pending",
        "amount": 50000,
        "invoice_url": tx.invoice_url,
        "expires_at": tx.expires_at.isoformat(),
    }


def test_gateway_failure_leaves_the_payment_pending_and_the_sweep_retries(
    fake_xendit, client_ani, mitra_budi, session_tier
):
    fake_xendit.fail_create = 1
    session = start_paid_session(client_ani, mitra_budi, session_tier)
    tx = session_tx(session["id"])
    assert tx.status == "pending" and tx.xendit_invoice_id == "" and "failed" in tx.note
    assert session["payment"]["invoice_url"] is None

    payment_sweep_overdue()  # too soon: the last attempt was just now
    assert fake_xendit.created == []

    Transaction.objects.filter(pk=tx.pk).update(updated_at=timezone.now() - timedelta(seconds=61))
    payment_sweep_overdue()
    tx.refresh_from_db()
    assert tx.xendit_invoice_id == "inv_0001" and tx.note == ""
    assert len(fake_xendit.created) == 1
    assert fake_xendit.created[0]["external_id"] == tx.external_id
    # The retry knows less time is left.
    assert fake_xendit.created[0]["invoice_duration"] < 600


def test_gateway_errors_are_classified(fake_xendit):
    gateway = XenditGateway(secret_key=SECRET_KEY, base_url=fake_xendit.base_url)
    ref = gateway.create_invoice(external_id="hb-x-1", amount=1000, description="d", duration_seconds=60)
    assert ref.invoice_id == "inv_0001"
    gateway.expire_invoice(invoice_id=ref.invoice_id)
    assert fake_xendit.expired == ["inv_0001"]

    fake_xendit.fail_create = 1
    with pytest.raises(GatewayError) as err:
        gateway.create_invoice(external_id="hb-x-2", amount=1000, description="d", duration_seconds=60)
    assert err.value.retryable and err.value.status == "500"

    dead = XenditGateway(secret_key=SECRET_KEY, base_url="http://127.0.0.1:9")  # nothing listens
    with pytest.raises(GatewayError) as err:
        dead.create_invoice(external_id="hb-x-3", amount=1000, description="d", duration_seconds=60)
    assert err.value.retryable
