"""End to end on a real server: HTTP API, sockets, the real SDK against the fake Xendit,
and Xendit's callback over HTTP. Match → invoice → PAID → active → extension → PAID."""

import asyncio
from datetime import datetime, timedelta

import httpx
import pytest
from django.conf import settings

from billing.models import Transaction
from chat.models import Session
from halobestie.testing.fixtures import make_client, make_mitra
from halobestie.testing.live import LiveServer, WsClient

from .helpers import SECRET_KEY, xendit_payload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def live_xendit(fake_xendit):
    server = LiveServer(env={"XENDIT_SECRET_KEY": SECRET_KEY, "XENDIT_BASE_URL": fake_xendit.base_url}).start()
    yield server
    server.stop()


def test_paid_session_and_extension_end_to_end(live_xendit, fake_xendit, session_tier, extension_tier):
    ani = make_client("Ani")
    budi = make_mitra("Budi", online=True)
    base = live_xendit.http_url

    async def scenario():
        async with httpx.AsyncClient(base_url=base, timeout=20) as http:
            as_ani = {"Authorization": f"Bearer {ani.token}"}
            as_budi = {"Authorization": f"Bearer {budi.token}"}
            client_ws = await WsClient(f"{live_xendit.ws_url}/ws/client/", ani.token).connect()
            mitra_ws = await WsClient(f"{live_xendit.ws_url}/ws/mitra/", budi.token).connect()

            # Match a paid tier.
            r = await http.post("/api/client/pairing-requests", json={"tier_id": str(session_tier.id)}, headers=as_ani)
            assert r.status_code == 201, r.text
            offer = await mitra_ws.wait_event("pairing.offer", id=r.json()["id"])
            r = await http.post(f"/api/mitra/pairing-requests/{offer['data']['id']}/accept", headers=as_budi)
            assert r.status_code == 201, r.text
            sid = r.json()["id"]
            matched = await client_ws.wait_event("pairing.matched")
            assert matched["data"]["session"]["state"] == "awaiting_payment"

            # The server created the invoice with the real SDK and told the client.
            invoiced = await client_ws.wait_event("payment.updated", session_id=sid, status="pending")
            tx = await asyncio.to_thread(Transaction.objects.get, session_id=sid, kind="session")
            assert (
                invoiced["data"]["invoice_url"]
                == tx.invoice_url
                == f"https://checkout-staging.xendit.co/web/{tx.xendit_invoice_id}"
            )
            assert fake_xendit.created[0]["external_id"] == tx.external_id
            assert fake_xendit.created[0]["amount"] == 50000

            # Xendit calls back: PAID.
            r = await http.post(
                "/api/shared/webhooks/xendit/invoice",
                json=xendit_payload(tx, "PAID"),
                headers={"x-callback-token": settings.XENDIT_CALLBACK_TOKEN},
            )
            assert r.status_code == 200 and r.json()["result"] == "paid"
            active = await client_ws.wait_event("session.updated", id=sid, state="active")
            await mitra_ws.wait_event("session.updated", id=sid, state="active")
            await client_ws.wait_event("payment.updated", session_id=sid, status="paid")
            ends_at = datetime.fromisoformat(active["data"]["ends_at"])

            # Extension: request, accept, pay.
            r = await http.post(
                f"/api/client/sessions/{sid}/extensions", json={"tier_id": str(extension_tier.id)}, headers=as_ani
            )
            assert r.status_code == 201, r.text
            ext_id = r.json()["id"]
            requested = await mitra_ws.wait_event("extension.requested", id=ext_id)
            assert requested["data"]["session_id"] == sid and requested["data"]["state"] == "requested"
            r = await http.post(f"/api/mitra/sessions/{sid}/extensions/{ext_id}/accept", headers=as_budi)
            assert r.status_code == 200 and r.json()["state"] == "accepted"
            await client_ws.wait_event("extension.updated", id=ext_id, state="accepted")
            ext_invoice = await client_ws.wait_event("payment.updated", extension_id=ext_id, status="pending")
            ext_tx = await asyncio.to_thread(Transaction.objects.get, extension_id=ext_id)
            assert ext_invoice["data"]["invoice_url"] == ext_tx.invoice_url
            r = await http.post(
                "/api/shared/webhooks/xendit/invoice",
                json=xendit_payload(ext_tx, "PAID"),
                headers={"x-callback-token": settings.XENDIT_CALLBACK_TOKEN},
            )
            assert r.status_code == 200 and r.json()["result"] == "paid"
            for ws in (client_ws, mitra_ws):
                await ws.wait_event("extension.updated", id=ext_id, state="applied")
                moved = await ws.wait_event(
                    "session.updated", id=sid, ends_at=(ends_at + timedelta(minutes=15)).isoformat()
                )
                assert moved["data"]["pending_extension"] is None
                # Each state change once per device: the invoice URL came by payment.updated.
                states = [f["data"]["state"] for f in ws.events("extension.updated") if f["data"]["id"] == ext_id]
                assert states.count("accepted") == 1 and states.count("applied") == 1, states

            # A wrong token is refused over HTTP too.
            r = await http.post(
                "/api/shared/webhooks/xendit/invoice",
                json=xendit_payload(ext_tx, "PAID"),
                headers={"x-callback-token": "nope"},
            )
            assert r.status_code == 403 and r.json()["code"] == "permission_denied"
            await client_ws.close()
            await mitra_ws.close()
        return sid, ends_at

    sid, ends_at = asyncio.run(scenario())
    session = Session.objects.get(pk=sid)
    assert session.state == "active" and session.ends_at == ends_at + timedelta(minutes=15)
    assert list(Transaction.objects.filter(session_id=sid).order_by("created_at").values_list("kind", "status")) == [
        ("session", "paid"),
        ("extension", "paid"),
    ]
