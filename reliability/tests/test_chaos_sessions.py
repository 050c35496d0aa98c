"""Chaos on flaky networks: 200 live sessions over two web processes, a Celery worker with
beat, and the normal day of Indonesian mobile networks.

Faults (scheduled from a seed that is printed; `CHAOS_SEED=<n>` replays the schedule):
sockets killed without a close frame and reconnected with catch-up by `after_seq`; mitras
whose heartbeats stop past `auto_offline_after` and who come back within the grace period
(they must keep their sessions) or stay away (their sessions are rerouted, or closed for
refund); staff reroutes and deactivations; extensions asked, accepted and paid; early
ends; messages over the socket and REST, from both sides, with receipts.

At the end the invariants are counted against the database and printed as figures; every
violation count must be zero.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from datetime import datetime

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from accounts.services import mitra_set_active
from billing.api.sandbox import sandbox_callback_payload
from billing.models import Tier, Transaction
from billing.services.payments import invoice_callback_handle
from chat.hooks import UNSERVED_REASONS
from chat.models import Message, Session, SessionAssignment, SessionClosure, SessionEvent
from chat.services.lifecycle import session_reroute, session_start_from_offer
from halobestie.celery import app
from halobestie.testing.fixtures import make_client, make_mitra, set_platform_settings
from halobestie.testing.live import CeleryWorker, LiveServer
from pairing.models import MitraPresence
from pairing.selectors import available_mitras
from pairing.services import pairing_request_create
from reliability.chaos import Bot, Stream
from reliability.figures import record

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SESSIONS = 200
MITRAS = 100
CHAOS_SECONDS = 60
GRACE = 10
AUTO_OFFLINE = 15
HEARTBEAT = 5
CLOSING_CODES = ("session_closed", "session_cancelled", "session_ended_by_client", "session_ended_by_mitra",
                 "session_closed_by_staff")


def _db(fn):
    """Blocking ORM work from the event loop, on a thread that closes its connection."""
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()
    return sync_to_async(run, thread_sensitive=False)


def _build_sessions(rng: random.Random, session_tier: Tier):
    set_platform_settings(max_customers_per_mitra=3, heartbeat_interval=HEARTBEAT, auto_offline_after=AUTO_OFFLINE,
                          mitra_grace_period=GRACE, pairing_timeout=10, mitra_no_show_after=30,
                          free_trial_minutes=30, extension_timeout=60)
    mitras = [make_mitra(f"Mitra{i}", online=True) for i in range(MITRAS)]
    clients, sessions = [], []
    for i in range(SESSIONS):
        if i % 10 == 0:  # setup outlasts auto_offline_after: the mitras' apps keep beating
            MitraPresence.objects.update(last_heartbeat_at=timezone.now())
        client = make_client(f"Klien{i}")
        paid = i % 4 == 0
        request = pairing_request_create(client=client.user, tier_id=str(session_tier.id) if paid else None,
                                         free_trial=not paid)
        session = session_start_from_offer(request_id=request.id, mitra=mitras[i // 2].user)
        if paid:
            tx = Transaction.objects.get(session=session)
            assert invoice_callback_handle(payload=sandbox_callback_payload(tx, "PAID")) == "paid"
        clients.append(client)
        sessions.append(str(session.id))
    return mitras, clients, sessions


def test_two_hundred_sessions_survive_a_flaky_network(session_tier, extension_tier, tmp_path):
    seed = int(os.environ.get("CHAOS_SEED", random.SystemRandom().randrange(1, 10**6)))
    print(f"\nchaos seed: {seed} (replay the fault schedule with CHAOS_SEED={seed})")
    rng = random.Random(seed)
    t_setup = time.monotonic()
    mitras, clients, session_ids = _build_sessions(rng, session_tier)
    staff = get_user_model().objects.create_user("chaos-staff", "staff@halobestie.local", "x", is_staff=True)
    setup_seconds = time.monotonic() - t_setup

    worker = CeleryWorker(settings.CELERY_TASK_DEFAULT_QUEUE, name=f"chaos{os.getpid()}", beat=True,
                          workdir=tmp_path)
    # The web processes run as in production: real Celery tasks, the database pool on.
    servers = [LiveServer(env={"CELERY_TASK_ALWAYS_EAGER": "False", "DB_POOL": "true"}) for _ in range(2)]
    for server in servers:
        server.start()
    # The mitras' apps were beating all through the setup: nobody starts the chaos offline
    # (the apps connect, which counts as a heartbeat, before the clock starts).
    MitraPresence.objects.update(last_heartbeat_at=timezone.now())
    stats: Counter = Counter()
    try:
        result = asyncio.run(_chaos(rng, mitras, clients, session_ids, servers, worker, staff, extension_tier,
                                    stats))
    finally:
        for server in servers:
            server.stop()
        worker.stop()
    bots, started_at, ended_at = result
    figures, violations = _invariants(bots, session_ids, started_at, ended_at)
    figures["setup seconds"] = round(setup_seconds, 1)
    print("chaos figures:")
    for key, value in {**figures, **dict(sorted(stats.items()))}.items():
        print(f"  {key}: {value}")
    print("invariant violations:")
    for key, value in violations.items():
        print(f"  {key}: {len(value)}" + (f"  e.g. {value[:3]}" if value else ""))
    record("chaos (flaky networks)", f"seed {seed}; " + "; ".join(
        f"{k}: {v}" for k, v in figures.items()) + f"; sockets killed: {stats['sockets_killed']}; "
        f"reconnects: {stats['reconnects']}; catch-up fetches: {stats['catchup_fetches']}; "
        f"gaps seen and filled: {stats['gaps_seen']}; violations: {sum(len(v) for v in violations.values())}")
    assert figures["sessions"] >= 200 and stats["sockets_killed"] > 0 and figures["reroutes (all)"] > 0
    assert {k: v for k, v in violations.items() if v} == {}, f"seed {seed}"


async def _chaos(rng, mitras, clients, session_ids, servers, worker, staff, extension_tier, stats):
    urls = [s.http_url for s in servers]
    mitra_bots = [Bot(role="mitra", user_id=str(m.id), token=m.token, servers=urls, rng=random.Random(rng.random()),
                      stats=stats) for m in mitras]
    client_bots = [Bot(role="client", user_id=str(c.id), token=c.token, servers=urls,
                       rng=random.Random(rng.random()), stats=stats) for c in clients]
    for bot, sid in zip(client_bots, session_ids, strict=True):
        bot.sessions.add(sid)
    paid = [i for i in range(SESSIONS) if i % 4 == 0]
    extenders = set(rng.sample(paid, 20))

    async def on_event(bot: Bot, kind: str, data: dict):
        # The mitra accepts every extension; the client pays it in the sandbox when asked to.
        if kind == "extension.requested" and bot.role == "mitra":
            r = await bot.rest("POST", f"/api/mitra/sessions/{data['session_id']}/extensions/{data['id']}/accept")
            stats[f"extension_accept_{r.status_code if r is not None else 'network'}"] += 1
        elif kind == "extension.updated" and bot.role == "client" and data["state"] == "accepted":
            tx = await _db(_wait_invoice)(data["id"])
            if tx is None:
                stats["extension_invoice_missing"] += 1
                return
            r = await bot.rest("POST", "/api/shared/webhooks/xendit/invoice", json=sandbox_callback_payload(tx, "PAID"),
                               headers={"x-callback-token": settings.XENDIT_CALLBACK_TOKEN})
            stats[f"extension_paid_{r.json().get('result') if r is not None else 'network'}"] += 1

    for bot in mitra_bots + client_bots:
        bot.on_event = on_event
    gate = asyncio.Semaphore(25)

    async def start(i, bot):
        async with gate:
            await bot.start(urls[i % 2])

    await asyncio.gather(*(start(i, b) for i, b in enumerate(mitra_bots + client_bots)))
    stats["sockets_connected_at_start"] = sum(b.connected.is_set() for b in mitra_bots + client_bots)
    await asyncio.to_thread(worker.start, app)  # the clock (worker + beat) starts with the chaos

    started_at = time.time()
    until = started_at + CHAOS_SECONDS
    lives = [asyncio.create_task(b.live(until, send_every=(3, 9), heartbeat_every=HEARTBEAT)) for b in mitra_bots]
    lives += [asyncio.create_task(b.live(until, send_every=(3, 9), heartbeat_every=HEARTBEAT)) for b in client_bots]

    schedule = _schedule(rng, mitra_bots, client_bots, extenders)
    for at, action, target, arg in schedule:
        delay = started_at + at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if action == "drop":
            if not target.away and not target.deactivated:
                target.kill_socket()
                target.away_until = time.time() + arg
        elif action == "away":
            if not target.deactivated:
                target.go_away(arg)
                stats[f"mitra_away_{'short' if arg < AUTO_OFFLINE + GRACE else 'long'}"] += 1
        elif action == "reroute":
            moved = await _db(_staff_reroute)(staff, rng.random())
            stats[f"staff_reroute_{moved}"] += 1
        elif action == "deactivate":
            target.deactivated = True
            await _db(mitra_set_active)(mitra=target_user(mitras, target), active=False, actor=staff)
            stats["mitra_deactivated"] += 1
        elif action == "extend":
            sid = session_ids[arg]
            r = await target.rest("POST", f"/api/client/sessions/{sid}/extensions",
                                  json={"tier_id": str(extension_tier.id)})
            stats[f"extension_request_{r.status_code if r is not None else 'network'}"] += 1
        elif action == "end":
            sid = next(iter(target.sessions), None)
            if sid:
                r = await target.rest("POST", f"/api/client/sessions/{sid}/end", json={})
                stats[f"early_end_{r.status_code if r is not None else 'network'}"] += 1
    await asyncio.gather(*lives)

    # Everyone's network comes back; the apps reconnect and catch up; the clock settles.
    for bot in mitra_bots + client_bots:
        bot.away_until = 0
    await asyncio.gather(*(b.reconnect() for b in mitra_bots + client_bots
                           if not b.deactivated and not b.connected.is_set()))
    await asyncio.sleep(6)
    # The clock stops (worker and beat), so the end state is still: then the last catch-up.
    await asyncio.to_thread(worker.stop)
    await asyncio.sleep(1)
    await asyncio.gather(*(b.catch_up_all() for b in mitra_bots + client_bots if not b.deactivated))
    # A deactivated mitra cannot sign in again: its streams end where its socket did.
    ended_at = time.time()
    await asyncio.gather(*(b.stop() for b in mitra_bots + client_bots))
    return mitra_bots + client_bots, started_at, ended_at


def target_user(mitras, bot):
    return next(m.user for m in mitras if str(m.id) == bot.user_id)


def _schedule(rng, mitra_bots, client_bots, extenders):
    events = []
    for bot in mitra_bots + client_bots:
        for _ in range(rng.choice((0, 1, 1, 2))):
            events.append((rng.uniform(2, CHAOS_SECONDS - 5), "drop", bot, rng.uniform(0.3, 5)))
    away = rng.sample(mitra_bots, 24)
    for bot in away[:12]:  # back within the grace period: they must keep their sessions
        events.append((rng.uniform(3, 25), "away", bot, rng.uniform(AUTO_OFFLINE + 1, AUTO_OFFLINE + 3)))
    for bot in away[12:]:  # gone for good (for this test): their sessions move on
        events.append((rng.uniform(3, 15), "away", bot, 45))
    for _ in range(10):
        events.append((rng.uniform(5, CHAOS_SECONDS - 10), "reroute", None, None))
    for bot in rng.sample([b for b in mitra_bots if b not in away], 3):
        events.append((rng.uniform(10, 40), "deactivate", bot, None))
    for i in sorted(extenders):
        events.append((rng.uniform(5, 35), "extend", client_bots[i], i))
    for bot in rng.sample([b for i, b in enumerate(client_bots) if i not in extenders], 10):
        events.append((rng.uniform(20, CHAOS_SECONDS - 5), "end", bot, None))
    return sorted(events, key=lambda e: e[0])


def _staff_reroute(staff, roll: float) -> str:
    live = list(Session.objects.filter(state__in=("active", "closing"), reroute_needed_since__isnull=True)
                .values_list("pk", "client_id", "mitra_id")[:400])
    if not live:
        return "none_live"
    sid, client_id, mitra_id = live[int(roll * len(live))]
    target = available_mitras(for_client_id=client_id, exclude_ids=[mitra_id]).order_by("live").first()
    if target is None:
        return "no_mitra"
    try:
        session_reroute(session_id=sid, to_mitra=target, actor=staff, reason="staff")
    except Exception as exc:  # noqa: BLE001 - a race lost to the clock or a capacity check: counted
        return f"refused_{getattr(exc, 'code', type(exc).__name__)}"
    return "done"


def _wait_invoice(extension_id):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        tx = Transaction.objects.filter(extension_id=extension_id).exclude(xendit_invoice_id="").first()
        if tx is not None:
            return tx
        time.sleep(0.2)
    return None


def _invariants(bots, session_ids, started_at, ended_at):
    violations: dict[str, list] = {k: [] for k in (
        "db seq not gapless", "acked message missing or moved", "client stream wrong",
        "current mitra stream wrong", "earlier mitra stream wrong", "stream conflicts",
        "moved/closed while mitra present in grace", "credit above real gap", "closure without reason",
        "refund_needed without rule", "old mitra wrote after reroute", "message after close",
        "receipts went backwards")}
    db = {sid: list(Message.objects.filter(session_id=sid).order_by("seq").values_list("seq", "id", "sender",
                                                                                        "sender_mitra_id",
                                                                                        "system_code"))
          for sid in session_ids}
    by_id = {str(mid): (sid, seq) for sid, rows in db.items() for seq, mid, *_ in rows}
    for sid, rows in db.items():
        if [r[0] for r in rows] != list(range(1, len(rows) + 1)):
            violations["db seq not gapless"].append(sid)
    acks = [a for b in bots for a in b.acks]
    for a in acks:
        if by_id.get(a.message_id) != (a.session_id, a.seq):
            violations["acked message missing or moved"].append(a.message_id)

    def expected(sid):
        return {seq: str(mid) for seq, mid, *_ in db[sid]}

    current = {str(k): v for k, v in Session.objects.filter(pk__in=session_ids).values_list("pk", "mitra_id")}
    for bot in bots:
        for sid, stream in bot.streams.items():
            if stream.conflicts:
                violations["stream conflicts"].append((bot.role, sid, stream.conflicts[:2]))
            if sid not in db:
                continue
            want = expected(sid)
            if bot.role == "client":
                if stream.by_seq != want:
                    violations["client stream wrong"].append(_diff(sid, stream, want))
            elif str(current[sid]) == bot.user_id and not bot.deactivated:
                if stream.by_seq != want:
                    violations["current mitra stream wrong"].append(_diff(sid, stream, want))
            elif any(want.get(seq) != mid for seq, mid in stream.by_seq.items()):
                # An earlier mitra's stream ends where it lost access; what it holds is right.
                violations["earlier mitra stream wrong"].append(_diff(sid, stream, want))

    # Presence: nothing moved or closed because of an absence while the mitra was back.
    activity = {b.user_id: b.activity for b in bots if b.role == "mitra"}
    assignments = list(SessionAssignment.objects.filter(session_id__in=session_ids).order_by("session_id",
                                                                                              "assigned_at"))
    needs = {}
    for e in SessionEvent.objects.filter(session_id__in=session_ids, kind="reroute_needed").order_by("created_at"):
        needs.setdefault(str(e.session_id), []).append(e)
    for a in assignments:
        if a.end_reason != "mitra_offline":
            continue
        marks = [e for e in needs.get(str(a.session_id), []) if e.created_at <= a.ended_at
                 and e.data.get("reason") == "mitra_offline"]
        if not marks:
            violations["moved/closed while mitra present in grace"].append((str(a.session_id), "no mark"))
            continue
        away = datetime.fromisoformat(marks[-1].data["away_since"])
        if (a.ended_at - away).total_seconds() < GRACE:
            violations["moved/closed while mitra present in grace"].append((str(a.session_id), "before grace"))
        seen = [t for t, _ in activity.get(str(a.mitra_id), []) if away.timestamp() < t < a.ended_at.timestamp()]
        if seen:
            violations["moved/closed while mitra present in grace"].append((str(a.session_id), "mitra active"))

    # Credit: never more than the gap the client really waited.
    sessions = {str(s.pk): s for s in Session.objects.filter(pk__in=session_ids)}
    created = {str(mid): t for mid, t in Message.objects.filter(session_id__in=session_ids, sender="mitra")
               .values_list("id", "created_at")}
    prev_of = {}
    for a in assignments:
        sid = str(a.session_id)
        prev = prev_of.get(sid)
        prev_of[sid] = a
        if prev is None or a.credited_seconds == 0:
            continue
        served = [created[str(mid)] for seq, mid, sender, mitra_id, _ in db[sid]
                  if sender == "mitra" and mitra_id == prev.mitra_id and created[str(mid)] <= a.assigned_at]
        since = max([prev.assigned_at, sessions[sid].started_at or prev.assigned_at, *served])
        if a.credited_seconds > (a.assigned_at - since).total_seconds() + 1:
            violations["credit above real gap"].append((sid, a.credited_seconds,
                                                        round((a.assigned_at - since).total_seconds(), 1)))

    # Closures and refunds.
    closures = {str(c.session_id): c for c in SessionClosure.objects.filter(session_id__in=session_ids)}
    for sid, s in sessions.items():
        if s.state in ("closed", "cancelled") and not (sid in closures and closures[sid].reason):
            violations["closure without reason"].append(sid)
    for tx in Transaction.objects.filter(session_id__in=session_ids, status="refund_needed"):
        closure = closures.get(str(tx.session_id))
        ruled = (closure is not None and closure.reason in UNSERVED_REASONS) or tx.note.startswith(
            ("Paid after", "Extension paid after"))
        if not ruled:
            violations["refund_needed without rule"].append(str(tx.session_id))

    # The stream after a reroute or a close: no write from who lost the session. The
    # reroute's system message is the boundary between two assignments in `seq` order.
    turns = {}
    for a in assignments:
        turns.setdefault(str(a.session_id), []).append(a.mitra_id)
    for sid, rows in db.items():
        order = turns.get(sid, [])
        turn, closed = 0, False
        for seq, _mid, sender, mitra_id, code in rows:
            if code in CLOSING_CODES:
                closed = True
            elif sender in ("client", "mitra") and closed:
                violations["message after close"].append((sid, seq))
            if code == "session_rerouted":
                turn += 1
            elif sender == "mitra" and (turn >= len(order) or mitra_id != order[turn]):
                violations["old mitra wrote after reroute"].append((sid, seq))
    figures = {
        "sessions": len(session_ids),
        "chaos seconds": CHAOS_SECONDS,
        "messages stored (all, incl. system)": sum(len(r) for r in db.values()),
        "messages acked to bots": len(acks),
        "acked over socket / REST": f"{sum(a.via == 'socket' for a in acks)} / {sum(a.via == 'rest' for a in acks)}",
        "reroutes (all)": sum(1 for a in assignments if a.end_reason and a.end_reason != "session_ended"),
        "reroutes by reason": dict(Counter(a.end_reason for a in assignments
                                           if a.end_reason and a.end_reason != "session_ended")),
        "credited seconds (sum)": sum(a.credited_seconds for a in assignments),
        "closures by reason": dict(Counter(c.reason for c in closures.values())),
        "refund_needed": Transaction.objects.filter(session_id__in=session_ids, status="refund_needed").count(),
        "grace periods started / called off": (
            SessionEvent.objects.filter(session_id__in=session_ids, kind="mitra_away").count(),
            SessionEvent.objects.filter(session_id__in=session_ids, kind="mitra_returned").count()),
        "wall seconds (chaos + settle)": round(ended_at - started_at, 1),
    }
    violations["receipts went backwards"] = ["status"] * bots[0].stats["receipt_went_backwards"]
    return figures, violations


def _diff(sid, stream: Stream, want: dict) -> tuple:
    missing = sorted(set(want) - set(stream.by_seq))[:5]
    codes = dict(Message.objects.filter(session_id=sid, seq__in=missing).values_list("seq", "system_code"))
    missing = [(seq, codes.get(seq) or "participant") for seq in missing]
    extra = sorted(set(stream.by_seq) - set(want))[:5]
    wrong = sorted(s for s in set(want) & set(stream.by_seq) if want[s] != stream.by_seq[s])[:5]
    return (sid, {"missing": missing, "extra": extra, "wrong": wrong, "held": len(stream.by_seq), "db": len(want)})
