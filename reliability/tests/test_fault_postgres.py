"""PostgreSQL goes away under load: 503 in the contract's shape, health says so, service
resumes by itself, and no transaction is left half-written.

The server subprocess reaches PostgreSQL through a TCP proxy; the test cuts the proxy
(every connection reset, new ones refused) while clients are writing messages and
matching sessions, then restores it. The machine's PostgreSQL is never touched.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import httpx
import pytest
from django.db import connection

from chat.models import Message, Session, SessionEvent
from halobestie.testing.fixtures import make_client, make_mitra, start_trial_session
from pairing.models import PairingRequest
from reliability.faults import CapturingServer, TcpProxy, wait_until
from reliability.figures import record

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WRITERS = 6


def bearer(actor) -> dict:
    return {"Authorization": f"Bearer {actor.token}"}


@pytest.fixture
def proxied_server():
    db = connection.settings_dict
    proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)).start()
    url = f"postgres://{db['USER'] or 'postgres'}@127.0.0.1:{proxy.port}/{db['NAME']}"
    server = CapturingServer(env={"DATABASE_URL": url}).start()
    try:
        yield server, proxy
    finally:
        server.stop()
        proxy.stop()


def test_postgres_outage_answers_503_and_recovers_without_half_written_rows(proxied_server):
    server, proxy = proxied_server
    pairs = []
    for i in range(WRITERS):
        client, mitra = make_client(f"Klien{i}"), make_mitra(f"Mitra{i}", online=True)
        pairs.append((client, mitra, start_trial_session(client, mitra)["id"]))
    matchers = [(make_client(f"Baru{i}"), make_mitra(f"Siaga{i}", online=True)) for i in range(WRITERS)]
    http = httpx.Client(base_url=server.http_url, timeout=10)

    assert http.get("/api/shared/health").json() == {"status": "ok"}
    assert proxy.connections > 0, "the server must reach PostgreSQL through the proxy"
    assert http.get("/api/client/me", headers=bearer(pairs[0][0])).status_code == 200

    answers: list[tuple[str, int, dict | None]] = []  # (what, status, body)
    sends: dict[str, tuple] = {}  # client_message_id -> (actor, session_id, body, acked id or None)
    lock = threading.Lock()
    stop = threading.Event()

    def note(what, r):
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else None
        with lock:
            answers.append((what, r.status_code, body))
        return body

    def writer(i):
        client, mitra, sid = pairs[i]
        local = httpx.Client(base_url=server.http_url, timeout=10)
        n = 0
        while not stop.is_set():
            actor, role = (client, "client") if n % 2 == 0 else (mitra, "mitra")
            cmid = f"w{i}-{n}-{uuid.uuid4().hex[:6]}"
            text = f"pesan {i}/{n}"
            r = local.post(
                f"/api/{role}/sessions/{sid}/messages",
                headers=bearer(actor),
                json={"client_message_id": cmid, "body": text},
            )
            body = note("message", r)
            with lock:
                sends[cmid] = (actor, role, sid, text, body["id"] if r.status_code in (200, 201) else None)
            n += 1
        local.close()

    def matcher(i):
        """Pairing create + accept (one transaction writing five tables), then end, again and again."""
        client, mitra = matchers[i]
        local = httpx.Client(base_url=server.http_url, timeout=10)
        try:
            while not stop.is_set():
                r = local.post("/api/client/pairing-requests", headers=bearer(client), json={"free_trial": True})
                body = note("pairing create", r)
                if r.status_code == 201:
                    a = local.post(f"/api/mitra/pairing-requests/{body['id']}/accept", headers=bearer(mitra))
                    accepted = note("accept", a)
                    if a.status_code == 201:
                        note(
                            "end",
                            local.post(f"/api/client/sessions/{accepted['id']}/end", headers=bearer(client), json={}),
                        )
                elif r.status_code == 409:
                    # Left over from a round the cut interrupted: clear it as the app would.
                    live = local.get("/api/client/sessions?state=live", headers=bearer(client))
                    for s in live.json().get("results", []) if live.status_code == 200 else []:
                        local.post(f"/api/client/sessions/{s['id']}/end", headers=bearer(client), json={})
                    for rid in PairingRequest.objects.filter(client=client.user, state="searching").values_list(
                        "id", flat=True
                    ):
                        local.post(f"/api/client/pairing-requests/{rid}/cancel", headers=bearer(client))
        finally:
            local.close()
            connection.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    threads += [threading.Thread(target=matcher, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: sum(1 for a in answers if a[1] in (200, 201)) >= 60, 30, "traffic before the cut")
        proxy.cut()
        cut_at = len(answers)
        # While PostgreSQL is unreachable: the API and health answer 503, in shape, at once.
        wait_until(lambda: sum(1 for a in answers[cut_at:] if a[1] == 503) >= 30, 30, "503 answers")
        health = http.get("/api/shared/health")
        assert health.status_code == 503, health.text
        assert health.json()["code"] == "service_unavailable" and health.headers["Retry-After"]
        me = http.get("/api/client/me", headers=bearer(pairs[0][0]))
        assert (me.status_code, me.json()["code"]) == (503, "service_unavailable"), me.text
        assert me.headers["Cache-Control"] == "no-store"
        during = len(answers)
        proxy.restore()
        # Service resumes by itself: no restart, no operator.
        wait_until(lambda: http.get("/api/shared/health").status_code == 200, 30, "health to recover")
        wait_until(lambda: sum(1 for a in answers[during:] if a[1] in (200, 201)) >= 30, 30, "writes to succeed again")
    finally:
        stop.set()
        for t in threads:
            t.join(20)

    statuses = Counter(status for _, status, _ in answers)
    unexpected = [(w, s, b) for w, s, b in answers if s >= 500 and s != 503 or s in (400, 401, 403, 404)]
    assert not unexpected, unexpected[:5]
    for what, status, body in answers:
        if status == 503:
            assert body and body["code"] == "service_unavailable" and body["detail"], (what, body)

    # Every send the outage left unanswered is retried with its idempotency key: exactly one row each.
    for cmid, (actor, role, sid, text, acked) in list(sends.items()):
        r = http.post(
            f"/api/{role}/sessions/{sid}/messages",
            headers=bearer(actor),
            json={"client_message_id": cmid, "body": text},
        )
        assert r.status_code in (200, 201), r.text
        if acked is not None:
            assert r.status_code == 200 and r.json()["id"] == acked, "an acked message changed or vanished"
    rows = Counter(
        Message.objects.filter(client_message_id__in=list(sends)).values_list("client_message_id", flat=True)
    )
    assert set(rows) == set(sends) and set(rows.values()) == {1}
    # A mitra message and the session's first-reply mark are written together.
    for _, _, sid in pairs:
        first_reply = Message.objects.filter(session_id=sid, sender="mitra").order_by("seq").first()
        assert first_reply is None or Session.objects.get(pk=sid).last_mitra_message_at is not None

    # No half-written match: every matched request has its session, and every session of
    # these clients has all of what its accept writes (or none of it).
    matcher_clients = [c.user for c, _ in matchers]
    for request in PairingRequest.objects.filter(client__in=matcher_clients):
        if request.state == "matched":
            assert request.session_id and request.matched_mitra_id
    for session in Session.objects.filter(client__in=matcher_clients):
        assert PairingRequest.objects.filter(session=session, state="matched").count() == 1
        assert SessionEvent.objects.filter(session=session, kind="matched").count() == 1
        assert Message.objects.filter(session=session, system_code="session_active").count() == 1
        if session.state == "closed":
            assert session.closure and SessionEvent.objects.filter(session=session, kind="closed").count() == 1
    assert "Internal Server Error" not in server.output()
    record(
        "PostgreSQL outage",
        f"{len(answers)} requests across a cut ({statuses[503]} answered 503 "
        f"service_unavailable, 0 other 5xx), {len(sends)} sends reconciled exactly once, "
        f"{Session.objects.filter(client__in=matcher_clients).count()} matches whole",
    )
