"""1,000 replayed and concurrent Xendit callbacks for one invoice: one state change.

Xendit retries callbacks and may deliver the same one several times at once. Against a
live server with two worker processes, 16 threads replay the PAID (and SETTLED) callback
of a session invoice 500 times, then of an extension invoice 500 times, then EXPIRED
callbacks for both after they were paid. Exactly one callback applies each payment: one
activation, one extension applied (ends_at moves once), one transaction row each, every
replay answered 200, nothing recorded as an incident.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from django.conf import settings

from billing.models import Extension, PaymentIncident, Tier, Transaction
from billing.tests.helpers import WEBHOOK, xendit_payload
from chat.models import Message, Session, SessionEvent
from halobestie.testing.fixtures import make_client, make_mitra
from halobestie.testing.live import LiveServer
from reliability.figures import record

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REPLAYS = 500  # per invoice
THREADS = 16


def storm(server: LiveServer, payloads: list[dict]) -> Counter:
    """POST every payload to the webhook from THREADS threads at once; the results."""
    results: Counter = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    queue = list(payloads)
    start = threading.Barrier(THREADS)

    def run():
        with httpx.Client(
            base_url=server.http_url, timeout=30, headers={"x-callback-token": settings.XENDIT_CALLBACK_TOKEN}
        ) as http:
            start.wait()
            while True:
                with lock:
                    if not queue:
                        return
                    payload = queue.pop()
                r = http.post(WEBHOOK, json=payload)
                with lock:
                    if r.status_code != 200:
                        failures.append(f"{r.status_code} {r.text[:200]}")
                    else:
                        results[r.json()["result"]] += 1

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures[:5]
    return results


def test_a_thousand_concurrent_replays_apply_each_payment_once():
    session_tier = Tier.objects.create(kind="session", name="Curhat 30", minutes=30, price=50000)
    extension_tier = Tier.objects.create(kind="extension", name="Tambah 15", minutes=15, price=25000)
    client, mitra = make_client("Ani"), make_mitra("Budi", online=True)
    r = client.api.post("/api/client/pairing-requests", {"tier_id": str(session_tier.id)}, format="json")
    assert r.status_code == 201, r.content
    r = mitra.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept")
    assert r.status_code == 201, r.content
    sid = r.json()["id"]
    session_tx = Transaction.objects.get(session_id=sid, kind="session")
    assert session_tx.xendit_invoice_id, "the invoice task runs on commit (eager in tests)"
    rng = random.Random(9)

    with LiveServer(workers=2) as server:
        # The session invoice: PAID replayed (and SETTLED, which Xendit sends later).
        payloads = [xendit_payload(session_tx, rng.choice(["PAID", "PAID", "PAID", "SETTLED"])) for _ in range(REPLAYS)]
        session_results = storm(server, payloads)
        session = Session.objects.get(pk=sid)
        assert session.state == "active" and session.started_at
        ends_at = session.ends_at

        # The extension invoice, while the session is active.
        r = client.api.post(
            f"/api/client/sessions/{sid}/extensions", {"tier_id": str(extension_tier.id)}, format="json"
        )
        assert r.status_code == 201, r.content
        ext_id = r.json()["id"]
        r = mitra.api.post(f"/api/mitra/sessions/{sid}/extensions/{ext_id}/accept")
        assert r.status_code == 200, r.content
        ext_tx = Transaction.objects.get(extension_id=ext_id)
        assert ext_tx.xendit_invoice_id
        payloads = [xendit_payload(ext_tx, rng.choice(["PAID", "PAID", "PAID", "SETTLED"])) for _ in range(REPLAYS)]
        extension_results = storm(server, payloads)

        # Late EXPIRED callbacks for both paid invoices change nothing.
        late = storm(server, [xendit_payload(tx, "EXPIRED") for tx in (session_tx, ext_tx) for _ in range(25)])

    assert session_results["paid"] == 1 and session_results["duplicate"] == REPLAYS - 1, session_results
    assert extension_results["paid"] == 1 and extension_results["duplicate"] == REPLAYS - 1, extension_results
    assert set(late) == {"ignored"}, late

    session = Session.objects.get(pk=sid)
    assert session.state == "active"
    assert session.ends_at == ends_at + timedelta(minutes=15)  # extended once, not 500 times
    assert Transaction.objects.filter(session_id=sid).count() == 2  # one per invoice
    assert Transaction.objects.get(pk=session_tx.pk).status == "paid"
    assert Transaction.objects.get(pk=ext_tx.pk).status == "paid"
    extensions = Extension.objects.filter(session_id=sid)
    assert extensions.count() == 1 and extensions.get().state == "applied"
    assert SessionEvent.objects.filter(session_id=sid, kind="paid").count() == 1
    assert SessionEvent.objects.filter(session_id=sid, kind="extended").count() == 1
    system = Counter(Message.objects.filter(session_id=sid, sender="system").values_list("system_code", flat=True))
    assert system["session_paid"] == 1 and system["session_extended"] == 1, system
    assert not PaymentIncident.objects.exists()
    total = 2 * REPLAYS + 50
    record(
        "Xendit callback replays",
        f"{total} concurrent callbacks ({THREADS} threads, 2 server processes) "
        f"for 2 invoices: 2 state changes, 2 transaction rows, 1 extension applied",
    )
