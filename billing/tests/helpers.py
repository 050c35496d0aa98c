"""Billing test helpers: a fake Xendit API for the real xendit-python SDK, callbacks, flows."""

from __future__ import annotations

import itertools
import json
import re
import threading
from datetime import UTC, datetime, timedelta

from django.conf import settings as django_settings
from rest_framework.test import APIClient
from werkzeug import Request, Response

from billing.models import Transaction

WEBHOOK = "/api/shared/webhooks/xendit/invoice"
SECRET_KEY = "xnd_development_halobestie_test"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeXendit:
    """Xendit's invoice API on loopback (pytest-httpserver): records every request and
    answers the way Xendit does, with every field the SDK's Invoice model requires."""

    def __init__(self, httpserver):
        self.server = httpserver
        self.created: list[dict] = []  # request bodies of POST /v2/invoices/
        self.expired: list[str] = []  # invoice ids of POST /invoices/{id}/expire!
        self.headers: list[dict] = []
        self.fail_create = 0  # answer the next N creations with a 500
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        httpserver.expect_request("/v2/invoices/", method="POST").respond_with_handler(self._create)
        httpserver.expect_request(re.compile(r"^/invoices/[^/]+/expire!$"), method="POST").respond_with_handler(
            self._expire
        )

    @property
    def base_url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def invoice(self, body: dict, invoice_id: str, status: str = "PENDING") -> dict:
        now = datetime.now(UTC)
        return {
            "id": invoice_id,
            "external_id": body.get("external_id", "unknown"),
            "user_id": "5f9a1b2c3d4e5f6a7b8c9d0e",
            "status": status,
            "merchant_name": "Halo Bestie",
            "merchant_profile_picture_url": "https://example.com/logo.png",
            "amount": body.get("amount", 0),
            "description": body.get("description"),
            "expiry_date": _iso(now + timedelta(seconds=float(body.get("invoice_duration") or 86400))),
            "invoice_url": f"https://checkout-staging.xendit.co/web/{invoice_id}",
            "available_banks": [],
            "available_retail_outlets": [],
            "available_ewallets": [],
            "available_qr_codes": [],
            "available_direct_debits": [],
            "available_paylaters": [],
            "should_send_email": False,
            "currency": body.get("currency", "IDR"),
            "created": _iso(now),
            "updated": _iso(now),
        }

    def _create(self, request: Request) -> Response:
        body = json.loads(request.get_data())
        with self._lock:
            self.headers.append(dict(request.headers))
            if self.fail_create > 0:
                self.fail_create -= 1
                return Response(
                    json.dumps({"error_code": "SERVER_ERROR", "message": "boom"}),
                    status=500,
                    content_type="application/json",
                )
            self.created.append(body)
            invoice_id = f"inv_{next(self._ids):04d}"
        return Response(json.dumps(self.invoice(body, invoice_id)), status=200, content_type="application/json")

    def _expire(self, request: Request) -> Response:
        invoice_id = request.path.split("/")[2]
        with self._lock:
            self.expired.append(invoice_id)
        body = self.invoice({"external_id": "x", "amount": 1}, invoice_id, status="EXPIRED")
        return Response(json.dumps(body), status=200, content_type="application/json")


# --- callbacks ---------------------------------------------------------------------------


def xendit_payload(tx: Transaction, status: str = "PAID", **overrides) -> dict:
    """What Xendit POSTs to the invoice webhook."""
    now = _iso(datetime.now(UTC))
    payload = {
        "id": tx.xendit_invoice_id or "inv_unknown",
        "external_id": tx.external_id,
        "user_id": "5f9a1b2c3d4e5f6a7b8c9d0e",
        "is_high": False,
        "status": status,
        "merchant_name": "Halo Bestie",
        "amount": tx.amount,
        "currency": "IDR",
        "created": now,
        "updated": now,
    }
    if status in ("PAID", "SETTLED"):
        payload.update(
            {
                "paid_amount": tx.amount,
                "paid_at": now,
                "payment_method": "EWALLET",
                "payment_channel": "OVO",
                "bank_code": None,
            }
        )
    payload.update(overrides)
    return payload


def post_callback(payload: dict, token: str | None = None):
    api = APIClient()
    token = django_settings.XENDIT_CALLBACK_TOKEN if token is None else token
    return api.post(WEBHOOK, payload, format="json", HTTP_X_CALLBACK_TOKEN=token)


def pay(tx: Transaction, status: str = "PAID", **overrides):
    tx.refresh_from_db()
    r = post_callback(xendit_payload(tx, status, **overrides))
    assert r.status_code == 200, r.content
    return r.json()["result"]


# --- flows -------------------------------------------------------------------------------


def start_paid_session(client, mitra, tier) -> dict:
    """Client asks for a paid tier, mitra accepts: the session awaits payment."""
    r = client.api.post("/api/client/pairing-requests", {"tier_id": str(tier.id)}, format="json")
    assert r.status_code == 201, r.content
    r = mitra.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept")
    assert r.status_code == 201, r.content
    return r.json()


def start_trial_session(client, mitra) -> dict:
    r = client.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json")
    assert r.status_code == 201, r.content
    r = mitra.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept")
    assert r.status_code == 201, r.content
    return r.json()


def session_tx(session_id) -> Transaction:
    return Transaction.objects.get(session_id=session_id, kind="session")


def request_extension(client, session_id, tier) -> dict:
    r = client.api.post(f"/api/client/sessions/{session_id}/extensions", {"tier_id": str(tier.id)}, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def answer_extension(mitra, session_id, ext_id, verb: str = "accept"):
    return mitra.api.post(f"/api/mitra/sessions/{session_id}/extensions/{ext_id}/{verb}")
