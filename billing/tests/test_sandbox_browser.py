"""The sandbox pay page in real headless Chromium, against the real public server."""

import re
import shutil

import httpx
import pytest

from billing.models import Transaction
from chat.models import Session
from halobestie.testing.browser import CHROMIUM, CHROMIUM_ARGS
from halobestie.testing.fixtures import make_client, make_mitra
from halobestie.testing.live import LiveServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]



@pytest.fixture
def sandbox_server():
    server = LiveServer()
    # No Xendit key: the sandbox gateway; its invoice URLs point at this very server.
    server.extra_env.update({"XENDIT_SECRET_KEY": "", "PUBLIC_BASE_URL": server.http_url})
    server.start()
    yield server
    server.stop()


def test_pay_in_the_sandbox_page_activates_the_session(sandbox_server, session_tier):
    from playwright.sync_api import expect, sync_playwright

    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")

    ani = make_client("Ani")
    budi = make_mitra("Budi", online=True)
    with httpx.Client(base_url=sandbox_server.http_url, timeout=20) as http:
        r = http.post(
            "/api/client/pairing-requests",
            json={"tier_id": str(session_tier.id)},
            headers={"Authorization": f"Bearer {ani.token}"},
        )
        assert r.status_code == 201, r.text
        r = http.post(
            f"/api/mitra/pairing-requests/{r.json()['id']}/accept", headers={"Authorization": f"Bearer {budi.token}"}
        )
        assert r.status_code == 201, r.text
        session = r.json()
    invoice_url = session["payment"]["invoice_url"]
    assert invoice_url.startswith(f"{sandbox_server.http_url}/sandbox/pay/hb-session-")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(invoice_url)
            expect(page.get_by_test_id("amount")).to_have_text("Rp50.000")
            expect(page.get_by_test_id("status")).to_have_text("pending")
            expect(page.get_by_test_id("expires")).to_have_text(re.compile(r"^\d{2} \w{3} \d{4} \d{2}:\d{2} WIB$"))
            page.get_by_role("button", name="Bayar").click()
            expect(page.get_by_role("status")).to_contain_text("Pembayaran berhasil")
            expect(page.get_by_test_id("status")).to_have_text("paid")
            expect(page.get_by_role("button", name="Bayar")).to_have_count(0)
        finally:
            browser.close()

    tx = Transaction.objects.get(session_id=session["id"], kind="session")
    assert tx.status == "paid" and tx.gateway == "sandbox" and tx.raw_callback["status"] == "PAID"
    assert Session.objects.get(pk=session["id"]).state == "active"
