"""Session integrity: the six ways ordinary network events used to break a live session
(issue "Session integrity"), each as the scenario a user meets.

1. a mitra who drops off and comes back keeps the session (grace period);
2. a reroute sticks: the new mitra's no-show clock starts at its assignment, credit once;
3. a deactivated mitra's sessions move at once (or close for refund when nobody takes them);
4. catch-up by `after_seq` never skips a message, whatever the commit order;
5. writes are checked under the session lock against reroutes and closes;
6. receipts never go back; the idempotency key names the sender; deletion withdraws offers
   and erases every free text; retention blanks them too.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from accounts.privacy import client_delete, purge_expired_messages
from accounts.services import mitra_set_active
from billing.models import Transaction
from chat.models import Feedback, Message, Session, SessionAssignment, SessionEvent, SessionReport
from chat.services import care, lifecycle
from chat.services.messages import message_send, messages_mark_delivered, messages_mark_read
from halobestie.errors import ApplicationError
from halobestie.realtime import mitra_group
from halobestie.testing.events import EventProbe
from halobestie.testing.fixtures import make_client, make_mitra, send_message, start_trial_session
from pairing.models import MitraPresence, PairingOffer, PairingRequest
from pairing.services import presence_heartbeat, presence_sweep_auto_offline

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("ops@halobestie.local", "ops@halobestie.local", "pw", is_staff=True)


def _paid_session(client, mitra, tier) -> Session:
    r = client.api.post("/api/client/pairing-requests", {"tier_id": str(tier.id)}, format="json")
    r = mitra.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept")
    assert r.status_code == 201, r.json()
    session = Session.objects.get(pk=r.json()["id"])
    Transaction.objects.filter(session=session).update(status="paid")
    return lifecycle.session_activate_paid(session_id=session.pk)


def _stop_heartbeats(mitra, seconds: int = 120) -> None:
    MitraPresence.objects.filter(mitra_id=mitra.id).update(last_heartbeat_at=timezone.now() - timedelta(seconds=seconds))


def _later(seconds: int):
    return timezone.now() + timedelta(seconds=seconds)


# --- 1. a mitra who comes back keeps the session ----------------------------------------

def test_mitra_back_within_grace_keeps_the_session_and_nothing_is_refunded(client_ani, mitra_budi, session_tier):
    session = _paid_session(client_ani, mitra_budi, session_tier)
    send_message(mitra_budi, str(session.id), "aku di sini", "b1")
    _stop_heartbeats(mitra_budi)
    assert presence_sweep_auto_offline() == 1  # the phone lost the network
    session.refresh_from_db()
    assert session.mitra_away_since is not None

    # Seconds later the app is back: its heartbeat resumes it, then it keeps writing.
    r = mitra_budi.api.post("/api/mitra/presence/heartbeat")
    assert r.status_code == 200 and r.json()["status"] == "online"
    send_message(mitra_budi, str(session.id), "maaf, sinyalku hilang", "b2")

    # Long after the grace period and the pairing timeout, with nobody else free: nothing moves.
    for seconds in (130, 200, 400):
        assert care.care_sweep(now=_later(seconds)) == 0
    session.refresh_from_db()
    assert (session.state, session.mitra_id, session.reroute_needed_since) == ("active", mitra_budi.id, None)
    assert Transaction.objects.get(session=session).status == "paid"
    kinds = list(SessionEvent.objects.filter(session=session).values_list("kind", flat=True))
    assert "mitra_away" in kinds and "mitra_returned" in kinds and "rerouted" not in kinds


def test_a_message_alone_brings_the_mitra_back(client_ani, mitra_budi, mitra_dina, session_tier,
                                               django_capture_on_commit_callbacks):
    session = _paid_session(client_ani, mitra_budi, session_tier)
    send_message(mitra_budi, str(session.id), "halo", "b1")
    _stop_heartbeats(mitra_budi)
    presence_sweep_auto_offline()
    with django_capture_on_commit_callbacks(execute=True):
        send_message(mitra_budi, str(session.id), "masih di sini", "b2")
    assert MitraPresence.objects.get(mitra_id=mitra_budi.id).status == "online"
    assert care.care_sweep(now=_later(300)) == 0
    session.refresh_from_db()
    assert session.mitra_id == mitra_budi.id  # Dina was free, but Budi never left for good


def test_a_manual_offline_is_not_undone_by_a_heartbeat(mitra_budi):
    assert mitra_budi.api.put("/api/mitra/presence", {"status": "offline"}, format="json").status_code == 200
    assert presence_heartbeat(mitra=mitra_budi.user).status == "offline"


def test_mitra_still_away_after_grace_nobody_free_closes_for_refund(client_ani, mitra_budi, session_tier):
    session = _paid_session(client_ani, mitra_budi, session_tier)
    send_message(mitra_budi, str(session.id), "halo", "b1")
    _stop_heartbeats(mitra_budi)
    presence_sweep_auto_offline()
    assert care.care_sweep(now=_later(125)) == 1  # grace over: marked, nobody free yet
    session.refresh_from_db()
    assert session.reroute_reason == "mitra_offline" and session.state == "active"
    assert care.care_sweep(now=_later(125 + 61)) == 1  # the pairing timeout passed too
    session.refresh_from_db()
    assert session.state == "closed" and session.closure.reason == "mitra_offline"
    assert Transaction.objects.get(session=session).status == "refund_needed"
    assert SessionAssignment.objects.get(session=session).end_reason == "session_ended"


# --- 2. a reroute sticks ----------------------------------------------------------------

def test_reroute_sticks_and_the_new_mitra_gets_its_own_no_show_time(client_ani, mitra_budi, mitra_dina,
                                                                     session_tier, staff):
    session = _paid_session(client_ani, mitra_budi, session_tier)
    send_message(mitra_budi, str(session.id), "halo", "b1")
    # The session started long ago: the old rule counted the no-show from the start.
    Session.objects.filter(pk=session.pk).update(started_at=timezone.now() - timedelta(minutes=20))
    lifecycle.session_reroute(session_id=session.pk, to_mitra=mitra_dina.user, actor=staff)
    ends_after_reroute = Session.objects.get(pk=session.pk).ends_at
    assert care.care_sweep() == 0  # not a no-show: Dina was assigned a moment ago
    assert care.care_sweep(now=_later(170)) == 0  # still within mitra_no_show_after (180 s)
    send_message(mitra_dina, str(session.id), "halo, aku Dina", "d1")
    assert care.care_sweep(now=_later(3600)) == 0
    session.refresh_from_db()
    assert session.mitra_id == mitra_dina.id and session.ends_at == ends_after_reroute
    turns = list(SessionAssignment.objects.filter(session=session).order_by("assigned_at"))
    assert [(t.mitra_id, t.end_reason, t.credited_seconds) for t in turns] == [
        (mitra_budi.id, "rerouted", 0), (mitra_dina.id, "", 0)]
    assert turns[1].first_message_at is not None


def test_silent_new_mitra_is_a_no_show_credited_only_its_own_wait(client_ani, mitra_budi, mitra_dina,
                                                                  session_tier, staff):
    session = _paid_session(client_ani, mitra_budi, session_tier)
    send_message(mitra_budi, str(session.id), "halo", "b1")
    lifecycle.session_reroute(session_id=session.pk, to_mitra=mitra_dina.user, actor=staff)
    assigned = SessionAssignment.objects.get(session=session, ended_at__isnull=True).assigned_at
    SessionAssignment.objects.filter(session=session, ended_at__isnull=True).update(
        assigned_at=assigned - timedelta(seconds=200))
    Session.objects.filter(pk=session.pk).update(started_at=timezone.now() - timedelta(minutes=20))
    ends_before = Session.objects.get(pk=session.pk).ends_at
    make_mitra("Eka", online=True)
    assert care.care_sweep() == 2  # Dina is a no-show: marked, then rerouted to Eka
    session.refresh_from_db()
    credited = (session.ends_at - ends_before).total_seconds()
    assert 199 <= credited <= 215  # Dina's 200 s, not the 20 minutes since the start
    assert SessionAssignment.objects.filter(session=session).count() == 3
    assert care.care_sweep() == 0  # and it sticks


# --- 3. deactivation --------------------------------------------------------------------

def test_deactivation_moves_live_sessions_at_once(client_ani, mitra_budi, mitra_dina, session_tier, staff,
                                                  django_capture_on_commit_callbacks):
    session = _paid_session(client_ani, mitra_budi, session_tier)
    send_message(mitra_budi, str(session.id), "halo", "b1")
    with django_capture_on_commit_callbacks(execute=True):
        mitra_set_active(mitra=mitra_budi.user, active=False, actor=staff)
    session.refresh_from_db()
    assert session.mitra_id == mitra_dina.id and session.state == "active"
    assert SessionAssignment.objects.filter(session=session, end_reason="mitra_deactivated").count() == 1
    assert MitraPresence.objects.get(mitra_id=mitra_budi.id).status == "offline"
    assert Transaction.objects.get(session=session).status == "paid"


def test_deactivation_with_nobody_free_closes_for_refund(client_ani, mitra_budi, session_tier, staff,
                                                         django_capture_on_commit_callbacks):
    session = _paid_session(client_ani, mitra_budi, session_tier)
    with django_capture_on_commit_callbacks(execute=True):
        mitra_set_active(mitra=mitra_budi.user, active=False, actor=staff)
    session.refresh_from_db()
    assert session.state == "active" and session.reroute_reason == "mitra_deactivated"
    assert care.care_sweep(now=_later(61)) == 1
    session.refresh_from_db()
    assert session.state == "closed" and session.closure.reason == "mitra_deactivated"
    assert Transaction.objects.get(session=session).status == "refund_needed"


# --- 4. catch-up never skips --------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_catch_up_by_seq_never_skips_whatever_commits_first(session_tier):
    """Both sides write as fast as they can while the clock extends the session (a
    lifecycle transaction that posts its system message and keeps working under the lock)
    and a reader catches up by `after_seq` the whole time. The reader never sees a seq
    before the ones below it are visible."""
    client, mitra = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(client, mitra)["id"]
    stop = threading.Event()
    problems: list = []

    def writer(actor, prefix):
        try:
            for i in range(40):
                message_send(session_id=sid, sender=actor.user, client_message_id=f"{prefix}{i}", body=f"{prefix} {i}")
        finally:
            connection.close()

    def extender():
        try:
            for _ in range(15):
                lifecycle.session_extend(session_id=sid, minutes=1)
        finally:
            connection.close()

    def reader():
        cursor = 0
        try:
            while not stop.is_set() or cursor < Session.objects.get(pk=sid).last_seq:
                seqs = list(Message.objects.filter(session_id=sid, seq__gt=cursor).order_by("seq")
                            .values_list("seq", flat=True))
                if seqs and seqs != list(range(cursor + 1, cursor + 1 + len(seqs))):
                    problems.append((cursor, seqs[:5]))
                cursor = seqs[-1] if seqs else cursor
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(client, "c")), threading.Thread(target=writer, args=(mitra, "m")),
               threading.Thread(target=extender)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stop.set()
    watcher.join(60)
    seqs = list(Message.objects.filter(session_id=sid).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 1 + 1 + 80 + 15))  # opening message, 80 sent, 15 extensions
    assert problems == []
    page = client.api.get(f"/api/client/sessions/{sid}/messages", {"after_seq": 90}).json()
    assert [m["seq"] for m in page["results"]] == [91, 92, 93, 94, 95, 96] and page["next"] is None


def test_after_seq_pages_and_validates(client_ani, mitra_budi):
    sid = start_trial_session(client_ani, mitra_budi)["id"]
    for i in range(5):
        send_message(client_ani, sid, f"pesan {i}", f"c{i}")
    first = client_ani.api.get(f"/api/client/sessions/{sid}/messages", {"after_seq": 0, "limit": 4}).json()
    assert [m["seq"] for m in first["results"]] == [1, 2, 3, 4] and first["next"] == "4"
    rest = client_ani.api.get(f"/api/client/sessions/{sid}/messages", {"after_seq": first["next"]}).json()
    assert [m["seq"] for m in rest["results"]] == [5, 6] and rest["next"] is None
    for bad in ("-1", "x", "1.5"):
        r = client_ani.api.get(f"/api/client/sessions/{sid}/messages", {"after_seq": bad})
        assert r.status_code == 400 and "after_seq" in r.json()["fields"]
    both = client_ani.api.get(f"/api/client/sessions/{sid}/messages",
                              {"after_seq": 1, "after": first["results"][0]["id"]})
    assert both.status_code == 400


# --- 5. writes race state changes -------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_old_mitra_cannot_write_past_a_reroute_that_committed():
    client, budi, dina = make_client("Ani"), make_mitra("Budi", online=True), make_mitra("Dina", online=True)
    sid = start_trial_session(client, budi)["id"]
    outcomes: list = []
    start = threading.Barrier(2)

    def old_mitra_writes():
        start.wait()
        try:
            for i in range(30):
                try:
                    message_send(session_id=sid, sender=budi.user, client_message_id=f"b{i}", body=f"b {i}")
                    outcomes.append("stored")
                except ApplicationError as exc:
                    outcomes.append(exc.code)
        finally:
            connection.close()

    def staff_reroutes():
        start.wait()
        try:
            lifecycle.session_reroute(session_id=sid, to_mitra=dina.user, reason="staff")
        finally:
            connection.close()

    threads = [threading.Thread(target=old_mitra_writes), threading.Thread(target=staff_reroutes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    boundary = Message.objects.get(session_id=sid, system_code="session_rerouted").seq
    late = Message.objects.filter(session_id=sid, sender="mitra", sender_mitra_id=budi.id, seq__gt=boundary)
    assert late.count() == 0
    assert set(outcomes) <= {"stored", "not_found"} and outcomes.count("stored") == Message.objects.filter(
        session_id=sid, sender_mitra_id=budi.id).count()


@pytest.mark.django_db(transaction=True)
def test_no_message_is_stored_after_the_close_that_committed():
    client, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(client, budi)["id"]
    start = threading.Barrier(2)

    def client_writes():
        start.wait()
        try:
            for i in range(30):
                try:
                    message_send(session_id=sid, sender=client.user, client_message_id=f"c{i}", body=f"c {i}")
                except ApplicationError as exc:
                    assert exc.code == "invalid_state"
        finally:
            connection.close()

    def staff_closes():
        start.wait()
        try:
            lifecycle.session_force_close(session_id=sid, actor=None, reason="staff")
        finally:
            connection.close()

    threads = [threading.Thread(target=client_writes), threading.Thread(target=staff_closes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    closed_at_seq = Message.objects.get(session_id=sid, system_code="session_closed").seq
    assert not Message.objects.filter(session_id=sid, sender="client", seq__gt=closed_at_seq).exists()


# --- 6. receipts, idempotency, deletion, retention ----------------------------------------

def test_a_delivered_receipt_after_a_read_changes_nothing(client_ani, mitra_budi, django_capture_on_commit_callbacks):
    sid = start_trial_session(client_ani, mitra_budi)["id"]
    m = send_message(client_ani, sid, "halo", "c1")
    assert messages_mark_read(session_id=sid, reader=mitra_budi.user, up_to=m["id"]) == [m["id"]]
    with EventProbe(*[f"client.{client_ani.id}"]) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            assert messages_mark_delivered(session_id=sid, reader=mitra_budi.user, message_ids=[m["id"]]) == []
        probe.settle()
        assert not probe.events("message.status")
    assert Message.objects.get(id=m["id"]).status == "read"


def test_socket_drops_a_receipt_that_would_go_back():
    from halobestie.sockets.consumer import AppSocketConsumer

    consumer = AppSocketConsumer()
    consumer._receipts = {}
    read = '{"type":"message.status","data":{"message_ids":["a","b"],"status":"read"}}'
    assert consumer._forward_receipts(read, "read", ["a", "b"]) == read
    late = '{"type":"message.status","data":{"message_ids":["a","b","c"],"status":"delivered"}}'
    forwarded = consumer._forward_receipts(late, "delivered", ["a", "b", "c"])
    assert '"message_ids":["c"]' in forwarded
    assert consumer._forward_receipts(late, "delivered", ["a"]) is None


def test_the_idempotency_key_names_the_sender(client_ani, mitra_budi, mitra_dina, staff):
    sid = start_trial_session(client_ani, mitra_budi)["id"]
    old = send_message(mitra_budi, sid, "dari Budi", "x-1")
    lifecycle.session_reroute(session_id=sid, to_mitra=mitra_dina.user, actor=staff)
    r = mitra_dina.api.post(f"/api/mitra/sessions/{sid}/messages", {"client_message_id": "x-1", "body": "dari Dina"},
                            format="json")
    assert r.status_code == 201 and r.json()["id"] != old["id"] and r.json()["body"] == "dari Dina"
    again = mitra_dina.api.post(f"/api/mitra/sessions/{sid}/messages",
                                {"client_message_id": "x-1", "body": "dari Dina"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]


def test_deleting_an_account_withdraws_offers_and_erases_free_text(client_ani, mitra_budi, mitra_dina,
                                                                   django_capture_on_commit_callbacks):
    past = start_trial_session(client_ani, mitra_budi)["id"]
    lifecycle.session_end(session_id=past, by=client_ani.user)
    client_ani.api.post(f"/api/client/sessions/{past}/feedback", {"rating": 4, "comment": "kakaknya baik"},
                        format="json")
    client_ani.api.post(f"/api/client/sessions/{past}/report", {"reason": "other", "note": "catatan pribadi"},
                        format="json")
    Session.objects.filter(pk=past).update(state="closed")
    from halobestie.testing.fixtures import set_platform_settings

    set_platform_settings(free_trial_enabled=True)
    client_ani.user.refresh_from_db()
    client_ani.user.free_trial_used = False
    client_ani.user.save()
    r = client_ani.api.post("/api/client/pairing-requests", {"free_trial": True, "topic": "masalah keluarga"},
                            format="json")
    assert r.status_code == 201, r.json()
    rid = r.json()["id"]
    assert PairingOffer.objects.filter(request_id=rid, state="open").exists()
    with EventProbe(mitra_group(mitra_dina.id)) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            client_delete(client=client_ani.user)
        probe.wait_event("pairing.offer_withdrawn", group=mitra_group(mitra_dina.id))
    assert not PairingOffer.objects.filter(request_id=rid, state="open").exists()
    assert PairingRequest.objects.get(pk=rid).state == "cancelled"
    assert set(PairingRequest.objects.filter(client=client_ani.user).values_list("topic", flat=True)) == {""}
    assert Feedback.objects.get(session_id=past).comment == ""
    assert SessionReport.objects.get(session_id=past).note == ""


def test_retention_blanks_topics_comments_and_notes(client_ani, mitra_budi):
    sid = start_trial_session(client_ani, mitra_budi)["id"]
    lifecycle.session_end(session_id=sid, by=client_ani.user)
    client_ani.api.post(f"/api/client/sessions/{sid}/feedback", {"rating": 5, "comment": "terima kasih"},
                        format="json")
    client_ani.api.post(f"/api/client/sessions/{sid}/report", {"reason": "other", "note": "catatan"}, format="json")
    PairingRequest.objects.filter(client=client_ani.user).update(topic="soal kerja")
    old = timezone.now() - timedelta(days=400)
    PairingRequest.objects.filter(client=client_ani.user).update(created_at=old)
    Feedback.objects.filter(session_id=sid).update(created_at=old)
    SessionReport.objects.filter(session_id=sid).update(created_at=old)
    Message.objects.filter(session_id=sid).update(created_at=old)
    assert purge_expired_messages() >= 1
    assert PairingRequest.objects.get(client=client_ani.user).topic == ""
    assert Feedback.objects.get(session_id=sid).comment == ""
    assert SessionReport.objects.get(session_id=sid).note == ""
