"""POST /api/shared/webhooks/xendit/invoice: token, idempotency, incidents, races."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client as DjangoClient

from billing.models import PaymentIncident, Transaction
from chat.models import Message, Session, SessionEvent

from .helpers import WEBHOOK, pay, post_callback, session_tx, start_paid_session, xendit_payload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def awaiting(fake_xendit, client_ani, mitra_budi, session_tier):
    session = start_paid_session(client_ani, mitra_budi, session_tier)
    return session_tx(session["id"])


def _state(tx: Transaction) -> tuple[str, str]:
    tx.refresh_from_db()
    return tx.status, Session.objects.get(pk=tx.session_id).state


@pytest.mark.parametrize("token", ["", "wrong-token", "sandbox-callback-tokeN"])
def test_wrong_or_missing_token_is_403_and_changes_nothing(awaiting, token):
    r = post_callback(xendit_payload(awaiting, "PAID"), token=token)
    assert r.status_code == 403
    assert r.json()["code"] == "permission_denied"
    assert _state(awaiting) == ("pending", "awaiting_payment")


def test_no_token_header_at_all_is_403(awaiting, anon_api):
    r = anon_api.post(WEBHOOK, xendit_payload(awaiting, "PAID"), format="json")
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"


def test_paid_activates_the_session_and_keeps_the_callback(awaiting):
    payload = xendit_payload(awaiting, "PAID")
    r = post_callback(payload)
    assert r.status_code == 200
    assert r.json() == {"received": True, "result": "paid"}
    assert _state(awaiting) == ("paid", "active")
    assert awaiting.raw_callback == payload
    assert awaiting.payment_method == "OVO"
    assert awaiting.paid_at is not None
    session = Session.objects.get(pk=awaiting.session_id)
    assert session.started_at is not None and session.ends_at is not None
    assert (session.ends_at - session.started_at).total_seconds() == 30 * 60


def test_duplicate_paid_changes_nothing(awaiting):
    assert pay(awaiting) == "paid"
    session = Session.objects.get(pk=awaiting.session_id)
    awaiting.refresh_from_db()
    first_callback, first_paid_at = awaiting.raw_callback, awaiting.paid_at

    assert pay(awaiting) == "duplicate"
    assert pay(awaiting, "SETTLED") == "duplicate"
    awaiting.refresh_from_db()
    assert awaiting.status == "paid"
    assert awaiting.raw_callback == first_callback and awaiting.paid_at == first_paid_at
    again = Session.objects.get(pk=awaiting.session_id)
    assert again.ends_at == session.ends_at and again.state == "active"
    assert SessionEvent.objects.filter(session_id=awaiting.session_id, kind="paid").count() == 1


def test_expired_after_paid_changes_nothing(awaiting):
    assert pay(awaiting) == "paid"
    assert pay(awaiting, "EXPIRED") == "ignored"
    assert _state(awaiting) == ("paid", "active")


def test_amount_mismatch_is_recorded_and_not_applied(awaiting):
    payload = xendit_payload(awaiting, "PAID", amount=5000, paid_amount=5000)
    r = post_callback(payload)
    assert r.status_code == 200 and r.json()["result"] == "amount_mismatch"
    assert _state(awaiting) == ("pending", "awaiting_payment")
    incident = PaymentIncident.objects.get()
    assert incident.kind == "amount_mismatch"
    assert incident.transaction_id == awaiting.pk and incident.external_id == awaiting.external_id
    assert incident.payload == payload and incident.resolved_at is None
    # The same callback again is the same incident, not a second one.
    post_callback(payload)
    assert PaymentIncident.objects.count() == 1
    # The right amount still pays it.
    assert pay(awaiting) == "paid"
    assert _state(awaiting) == ("paid", "active")


def test_unknown_invoice_is_recorded_and_answered_200(awaiting):
    payload = xendit_payload(awaiting, "PAID", external_id="hb-session-not-ours", id="inv_9999")
    r = post_callback(payload)
    assert r.status_code == 200 and r.json()["result"] == "unknown_invoice"
    incident = PaymentIncident.objects.get()
    assert incident.kind == "unknown_invoice" and incident.transaction is None
    assert incident.external_id == "hb-session-not-ours" and incident.payload == payload
    assert _state(awaiting) == ("pending", "awaiting_payment")


def test_paid_for_a_second_invoice_of_a_paid_transaction_is_an_incident(awaiting):
    assert pay(awaiting) == "paid"
    assert pay(awaiting, id="inv_other") == "duplicate_payment"
    assert PaymentIncident.objects.get().kind == "duplicate_payment"
    assert _state(awaiting) == ("paid", "active")


def test_malformed_callback_is_400(awaiting):
    r = post_callback({"status": "PAID"})
    assert r.status_code == 400 and r.json()["code"] == "validation_error"
    assert "external_id" in r.json()["fields"]
    r = post_callback(["not", "an", "object"])
    assert r.status_code == 400


def test_pending_status_is_ignored(awaiting):
    assert pay(awaiting, "PENDING") == "ignored"
    assert _state(awaiting) == ("pending", "awaiting_payment")


def test_double_clicked_pay_makes_one_state_change(awaiting, settings):
    """Two PAID callbacks at the same moment, each on its own connection: one wins."""
    payload = xendit_payload(awaiting, "PAID")
    barrier = threading.Barrier(2)
    results: list = []

    def deliver():
        try:
            barrier.wait(5)
            r = DjangoClient().post(
                WEBHOOK, payload, content_type="application/json", HTTP_X_CALLBACK_TOKEN=settings.XENDIT_CALLBACK_TOKEN
            )
            results.append((r.status_code, r.json()["result"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [(200, "duplicate"), (200, "paid")]
    assert _state(awaiting) == ("paid", "active")
    assert SessionEvent.objects.filter(session_id=awaiting.session_id, kind="paid").count() == 1
    assert Message.objects.filter(session_id=awaiting.session_id, system_code="session_paid").count() == 1


def test_characters_postgres_cannot_store_are_dropped_not_a_500(awaiting, settings):
    payload = xendit_payload(awaiting, "PAID", external_id="hb-unknown-1", note="a\x00b\udb8f",
                             nested={"k\x00": [{"deep": "\ud800x"}]})
    # Sent as JSON escapes, the way a client that is not Python would send them.
    r = DjangoClient().post(WEBHOOK, json.dumps(payload), content_type="application/json",
                            HTTP_X_CALLBACK_TOKEN=settings.XENDIT_CALLBACK_TOKEN)
    assert r.status_code == 200 and r.json()["result"] == "unknown_invoice", r.content
    incident = PaymentIncident.objects.get()
    assert incident.external_id == "hb-unknown-1"
    assert incident.payload["note"] == "ab?" and incident.payload["nested"] == {"k": [{"deep": "?x"}]}
