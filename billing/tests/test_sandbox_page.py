"""The sandbox gateway: its invoice page pays or expires through the webhook's service."""

from zoneinfo import ZoneInfo

import pytest
from django.test import Client as DjangoClient

from billing.models import Transaction
from chat.models import Session

from .helpers import session_tx, start_paid_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox(settings):
    settings.XENDIT_SECRET_KEY = ""
    settings.PUBLIC_BASE_URL = "http://testserver"


def _path(tx: Transaction) -> str:
    return tx.invoice_url.removeprefix("http://testserver")


def test_sandbox_invoice_url_and_page(sandbox, client_ani, mitra_budi, session_tier):
    session = start_paid_session(client_ani, mitra_budi, session_tier)
    tx = session_tx(session["id"])
    assert tx.gateway == "sandbox"
    assert tx.invoice_url == f"http://testserver/sandbox/pay/{tx.external_id}"
    assert tx.xendit_invoice_id == f"sandbox-{tx.external_id}"
    assert session["payment"]["invoice_url"] == tx.invoice_url

    browser = DjangoClient(enforce_csrf_checks=True)
    page = browser.get(_path(tx))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Rp50.000" in html and ">Bayar<" in html and ">Kedaluwarsa<" in html
    assert "Ani" not in html  # no client name on a payment page
    # The deadline in Western Indonesia Time, zone named (the payer is in Indonesia).
    wib = tx.expires_at.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%d %b %Y %H:%M")
    assert f'data-testid="expires">{wib} WIB<' in html, html

    # Without the CSRF token the form is refused.
    assert browser.post(_path(tx), {"action": "pay"}).status_code == 403
    token = browser.cookies["csrftoken"].value
    r = browser.post(_path(tx), {"action": "pay", "csrfmiddlewaretoken": token})
    assert r.status_code == 302 and r["Location"].endswith("?result=paid")
    tx.refresh_from_db()
    assert tx.status == "paid" and tx.payment_method == "SANDBOX"
    assert tx.raw_callback["status"] == "PAID" and tx.raw_callback["external_id"] == tx.external_id
    assert Session.objects.get(pk=session["id"]).state == "active"
    assert "Pembayaran berhasil" in browser.get(r["Location"]).content.decode()

    # Paid: the buttons are gone and a second post changes nothing.
    r = browser.post(_path(tx), {"action": "expire", "csrfmiddlewaretoken": token})
    assert r.status_code == 409
    tx.refresh_from_db()
    assert tx.status == "paid"


def test_sandbox_expire_button(sandbox, client_ani, mitra_budi, session_tier):
    session = start_paid_session(client_ani, mitra_budi, session_tier)
    tx = session_tx(session["id"])
    r = DjangoClient().post(_path(tx), {"action": "expire"})
    assert r.status_code == 302 and r["Location"].endswith("?result=expired")
    tx.refresh_from_db()
    assert tx.status == "expired"
    assert Session.objects.get(pk=session["id"]).state == "cancelled"


def test_sandbox_page_is_404_when_xendit_is_active(fake_xendit, client_ani, mitra_budi, session_tier):
    session = start_paid_session(client_ani, mitra_budi, session_tier)
    tx = session_tx(session["id"])
    r = DjangoClient().get(f"/sandbox/pay/{tx.external_id}")
    assert r.status_code == 404
    r = DjangoClient().post(f"/sandbox/pay/{tx.external_id}", {"action": "pay"})
    assert r.status_code == 404
    tx.refresh_from_db()
    assert tx.status == "pending"


def test_sandbox_page_unknown_invoice_is_404(sandbox, db):
    assert DjangoClient().get("/sandbox/pay/hb-session-nope").status_code == 404
