"""Django-side steps of the benchmark, run in a subprocess with the bench environment.

    python -m bench.djscript seed '{"pair_mitras": 150, "blast_mitras": 500, "idle_clients": 2000}'
    python -m bench.djscript explain '{}'
    python -m bench.djscript count '{}'

Each prints one JSON object on its last line of stdout. The bench's own process never
imports Django (its settings would pin one database and one Redis prefix for good).
"""

from __future__ import annotations

import json
import os
import sys

PAIR_MITRA_PHONE = "+62811{:07d}"
BLAST_MITRA_PHONE = "+62812{:07d}"


def pair_mitra_uid(i: int) -> str:
    return f"bench-pm-{i}"


def blast_mitra_uid(i: int) -> str:
    return f"bench-bm-{i}"


def idle_client_uid(i: int) -> str:
    return f"bench-idle-{i}"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "halobestie.settings.local")
    import django

    django.setup()


def seed(args: dict) -> dict:
    """Rows that would exist before the traffic starts: staff-created mitras (the ones to
    be paired sign in over the API; the blast mitras are already linked to their Firebase
    uid) and already-registered clients for the idle-socket test. Bulk ORM: setup only."""
    from accounts.models import Client, Mitra

    pair_n, blast_n, idle_n = args["pair_mitras"], args["blast_mitras"], args["idle_clients"]
    Mitra.objects.bulk_create(
        [Mitra(phone=PAIR_MITRA_PHONE.format(i), display_name=f"Mitra Bench {i}") for i in range(pair_n)]
        + [Mitra(phone=BLAST_MITRA_PHONE.format(i), firebase_uid=blast_mitra_uid(i),
                 display_name=f"Mitra Blast {i}") for i in range(blast_n)],
        batch_size=1000,
    )
    Client.objects.bulk_create(
        [Client(firebase_uid=idle_client_uid(i), display_name="", is_anonymous=True,
                sign_in_provider="anonymous") for i in range(idle_n)],
        batch_size=1000,
    )
    return {"mitras": Mitra.objects.count(), "clients": Client.objects.count()}


def count(args: dict) -> dict:
    """What the run left in the database, and whether the sessions stayed with their mitras
    (heartbeats kept every pair mitra online: no auto-offline, no grace period, no reroute)."""
    from django.db.models import Count

    from chat.models import Message, Session, SessionEvent
    from pairing.models import MitraOnlineLog

    pair_mitras = {"mitra__firebase_uid__startswith": "bench-pm-"}
    return {"messages": Message.objects.count(), "sessions": Session.objects.count(),
            "live_sessions": Session.objects.filter(state__in=("active", "closing")).count(),
            "sessions_by_state": dict(Session.objects.values_list("state").annotate(n=Count("id")).order_by()),
            "pair_mitras_auto_offline": MitraOnlineLog.objects.filter(end_reason="auto_offline", **pair_mitras).count(),
            "session_events": dict(SessionEvent.objects.filter(kind__in=(
                "mitra_away", "reroute_needed", "rerouted", "mitra_returned")).values_list("kind")
                .annotate(n=Count("id")).order_by())}


# --- EXPLAIN of the hot queries --------------------------------------------------------------

def _captured(fn):
    """Run fn() in a transaction that is rolled back; return (result, [sql, ...])."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        try:
            with transaction.atomic():
                result = fn()
                transaction.set_rollback(True)
        except Exception as exc:  # noqa: BLE001 - reported, not fatal
            result = exc
    sqls = [q["sql"] for q in ctx.captured_queries
            if q["sql"].lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"))]
    return result, sqls


def _explain(sql: str) -> str:
    """EXPLAIN ANALYZE in a rolled-back transaction (writes included, nothing kept)."""
    from django.db import connection, transaction

    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        return plan
    except Exception as exc:  # noqa: BLE001
        return f"(EXPLAIN failed: {type(exc).__name__}: {exc})"


def explain(args: dict) -> dict:
    from django.db import connection
    from django.db.models import Count

    from accounts.models import Client
    from chat.models import Message, Session
    from chat.selectors import messages_page
    from chat.services import messages as message_services
    from pairing import selectors as pairing_selectors
    from pairing import services as pairing_services

    out: dict = {"operations": [], "indexes": []}
    busiest = (Session.objects.filter(state__in=("active", "closing"))
               .annotate(n=Count("messages")).order_by("-n").select_related("client", "mitra").first())
    if busiest is None:
        return {"error": "no live session to explain"}
    msgs = list(Message.objects.filter(session=busiest).order_by("seq").values_list("id", "sender"))
    middle = msgs[len(msgs) // 2][0] if msgs else None
    last_from_mitra = next((mid for mid, s in reversed(msgs) if s == "mitra"), None)
    out["session_messages"] = len(msgs)
    out["table_rows"] = {"chat_message": Message.objects.count(), "chat_session": Session.objects.count()}

    def op(name, fn, note=""):
        result, sqls = _captured(fn)
        entry = {"name": name, "note": note, "queries": len(sqls),
                 "error": f"{type(result).__name__}: {result}" if isinstance(result, Exception) else None,
                 "statements": [{"sql": s, "plan": _explain(s)} for s in sqls]}
        out["operations"].append(entry)

    op("message.send (socket and REST)", lambda: message_services.message_send(
        session_id=str(busiest.id), sender=busiest.client, client_message_id="bench-explain-1",
        body="halo, ini pesan untuk EXPLAIN"),
        "session lookup + INSERT (+ events on commit)")
    if middle:
        op("messages after cursor (catch-up)", lambda: messages_page(busiest, after=str(middle), limit=50),
           "GET …/messages?after=<id>&limit=50")
    if last_from_mitra:
        op("message.read up to (receipts)", lambda: message_services.messages_mark_read(
            session_id=str(busiest.id), reader=busiest.client, up_to=str(last_from_mitra)),
            "everything from the other side up to a message")
    fresh = Client(firebase_uid="bench-explain-client", is_anonymous=True, sign_in_provider="anonymous")

    def blast():
        fresh.save()
        return pairing_services.pairing_request_create(client=fresh, free_trial=True)

    op("pairing blast (request create)", blast, "available mitras + offers + fan-out")
    op("available mitras (the blast's SELECT)",
       lambda: list(pairing_selectors.available_mitras(for_client_id=busiest.client_id).values_list("id", flat=True)))
    op("presence heartbeat (fresh, socket frame)",
       lambda: pairing_services.presence_heartbeat(mitra=busiest.mitra),
       "a beat within half the interval of the last one")
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT s.relname, s.indexrelname, s.idx_scan, pg_relation_size(s.indexrelid)
               FROM pg_stat_user_indexes s
               WHERE s.relname IN ('chat_message', 'chat_session', 'pairing_mitrapresence',
                                   'pairing_pairingoffer', 'pairing_pairingrequest')
               ORDER BY s.relname, s.indexrelname""")
        out["indexes"] = [{"table": t, "index": i, "scans": n, "bytes": b} for t, i, n, b in cursor.fetchall()]
    return out


COMMANDS = {"seed": seed, "count": count, "explain": explain}


def main() -> None:
    name = sys.argv[1]
    args = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    _setup()
    result = COMMANDS[name](args)
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
