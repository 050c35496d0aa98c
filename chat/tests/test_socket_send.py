"""`message.send` on the socket's event loop (chat/services/socket_send.py): the same row, the
same answer and the same after-effects as the ORM path, and everything it cannot decide
handed to the ORM path with nothing written. Real PostgreSQL and Redis, in this process's
own event loop."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from chat import socket_handlers
from chat.models import Message, Session, SessionAssignment, SessionEvent
from chat.services import care, socket_send
from chat.shapes import message_data
from halobestie.errors import ApplicationError
from halobestie.realtime import mitra_group
from halobestie.sockets import db, pg
from halobestie.testing.fixtures import make_client, make_mitra, send_message, start_trial_session
from pairing.models import MitraPresence
from pairing.services import presence_sweep_auto_offline

pytestmark = pytest.mark.django_db(transaction=True)

CRISIS_TEXT = "aku udah ga kuat lagi, aku mau bunuh diri malam ini"


class _Socket:
    """What a frame handler reads of its consumer."""

    def __init__(self, actor):
        self.user = actor.user


async def _drain_background() -> None:
    """Wait for the work the loop path handed to the pool after answering."""
    socket_send._crisis_batch.flush()
    for _ in range(200):
        if not db._background:
            return
        await asyncio.gather(*list(db._background), return_exceptions=True)
    raise AssertionError("background work did not finish")


def _run(scenario):
    async def wrapped():
        try:
            return await scenario()
        finally:
            await _drain_background()
            await pg.close_all()

    return asyncio.run(wrapped())


def _send(actor, sid: str, cmid: str, body: str):
    return socket_send.message_send(actor.user, {"session_id": sid, "client_message_id": cmid, "body": body})


def test_a_send_on_the_loop_stores_one_row_and_answers_exactly_what_the_orm_reads_back():
    assert socket_send.available()
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(ani, budi)["id"]

    async def scenario():
        first = await _send(ani, sid, "c1", "kak, aku mau cerita")
        reply = await _send(budi, sid, "b1", "cerita aja, aku dengerin")
        return first, reply

    first, reply = _run(scenario)
    for shape in (first, reply):
        assert shape == message_data(Message.objects.get(id=shape["id"]))
    assert (first["seq"], reply["seq"]) == (first["seq"], first["seq"] + 1)
    assert (first["sender"], reply["sender"], first["status"]) == ("client", "mitra", "sent")
    assert Session.objects.get(id=sid).last_seq == reply["seq"]
    assignment = SessionAssignment.objects.get(session_id=sid, ended_at__isnull=True)
    assert assignment.first_message_at is not None  # the mitra's first message, as on the ORM path


def test_what_the_loop_cannot_decide_is_left_to_the_orm_path_with_nothing_written():
    ani, budi, citra = make_client("Ani"), make_mitra("Budi", online=True), make_client("Citra")
    sid = start_trial_session(ani, budi)["id"]

    async def scenario():
        first = await _send(ani, sid, "c1", "halo")
        refused = {
            "retry": await _send(ani, sid, "c1", "halo"),
            "outsider": await _send(citra, sid, "x1", "halo juga"),
            "unknown session": await _send(ani, "6f1c0a5e-0000-4000-8000-000000000000", "c2", "halo"),
        }
        # Through the socket's handler the ORM path answers each: the stored message for the retry...
        again = await socket_handlers.message_send(_Socket(ani), {"session_id": sid, "client_message_id": "c1",
                                                                  "body": "halo"})
        errors = {}
        for name, actor, data in [
            ("outsider", citra, {"session_id": sid, "client_message_id": "x1", "body": "halo juga"}),
            ("empty", ani, {"session_id": sid, "client_message_id": "c3", "body": "  "}),
        ]:
            try:
                await socket_handlers.message_send(_Socket(actor), data)
            except ApplicationError as exc:
                errors[name] = exc.code
        await sync_to_async(Session.objects.filter(id=sid).update)(state="closed")
        closed = await _send(ani, sid, "c4", "masih di sana?")
        try:
            await socket_handlers.message_send(_Socket(ani), {"session_id": sid, "client_message_id": "c4",
                                                              "body": "masih di sana?"})
        except ApplicationError as exc:
            errors["closed"] = exc.code
        return first, refused, again, errors, closed

    first, refused, again, errors, closed = _run(scenario)
    assert refused == {"retry": None, "outsider": None, "unknown session": None} and closed is None
    assert again == first
    assert errors == {"outsider": "not_found", "empty": "validation_error", "closed": "invalid_state"}
    assert list(Message.objects.filter(session_id=sid, sender="client").values_list("client_message_id", flat=True)) \
        == ["c1"]
    assert Session.objects.get(id=sid).last_seq == first["seq"]  # no seq was taken by a refusal


def test_a_mitra_writing_after_the_network_dropped_is_on_the_timeline_and_online_again():
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(ani, budi)["id"]
    MitraPresence.objects.filter(mitra_id=budi.id).update(last_heartbeat_at=timezone.now() - timedelta(seconds=120))
    assert presence_sweep_auto_offline() == 1
    assert Session.objects.get(id=sid).mitra_away_since is not None

    _run(lambda: _send(budi, sid, "b1", "maaf, sinyalku hilang"))

    session = Session.objects.get(id=sid)
    assert session.mitra_away_since is None
    assert list(SessionEvent.objects.filter(session_id=sid, kind="mitra_returned").values_list("data", flat=True)) \
        == [{"by": "message"}]
    assert MitraPresence.objects.get(mitra_id=budi.id).status == MitraPresence.Status.ONLINE


def test_crisis_checks_of_loop_sends_leave_in_batches_and_flag_the_session(monkeypatch):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(ani, budi)["id"]
    batches = []
    queue = care.crisis_checks_queue
    monkeypatch.setattr(care, "crisis_checks_queue", lambda stored: (batches.append(len(stored)), queue(stored)))
    # A window no send here outlasts, whatever the machine's load: the batch leaves once, when
    # it is flushed; then a batch of one leaves on its timer alone.
    monkeypatch.setattr(socket_send, "CRISIS_BATCH_SECONDS", 30.0)

    async def scenario():
        await asyncio.gather(*[_send(ani, sid, f"c{i}", f"cerita ke-{i}") for i in range(4)])
        await _send(ani, sid, "c9", CRISIS_TEXT)
        assert batches == []  # waiting for its window
        socket_send._crisis_batch.flush()
        await _drain_background()
        monkeypatch.setattr(socket_send, "CRISIS_BATCH_SECONDS", 0.01)
        await _send(ani, sid, "c10", "makasih kak")
        for _ in range(500):
            if len(batches) == 2:
                break
            await asyncio.sleep(0.01)

    _run(scenario)
    assert batches == [5, 1]  # eager tasks here: the checks ran in the batch
    session = Session.objects.get(id=sid)
    assert session.risk_level == "high"
    assert SessionEvent.objects.filter(session_id=sid, kind="risk_flagged").count() == 1


def test_a_crisis_check_the_broker_cannot_take_is_run_here_rather_than_skipped(monkeypatch):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(ani, budi)["id"]

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(care.tasks.crisis_check_messages, "apply_async", broker_down)
    _run(lambda: _send(ani, sid, "c1", CRISIS_TEXT))
    assert Session.objects.get(id=sid).risk_level == "high"


def test_the_recipient_is_pushed_only_when_the_publish_reached_no_process_with_their_socket(monkeypatch):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(ani, budi)["id"]
    queued = []
    monkeypatch.setattr("notifications.services._queue_now",
                        lambda kwargs, unless_live_socket=None: queued.append((kwargs, unless_live_socket)))

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(mitra_group(budi.id), channel)  # the mitra's app is connected here
        await _send(ani, sid, "c1", "halo kak")
        await _drain_background()
        assert queued == []
        event = await asyncio.wait_for(layer.receive(channel), 5)
        assert '"message.new"' in event["frame"]
        await layer.group_discard(mitra_group(budi.id), channel)
        await _send(ani, sid, "c2", "kak?")

    _run(scenario)
    [(push, check)] = queued
    assert (push["event"], push["mitra_ids"], check) == ("new_message", [str(budi.id)], None)
    assert push["data"]["message_id"] == str(Message.objects.get(session_id=sid, client_message_id="c2").id)
    assert CRISIS_TEXT not in str(push) and "kak?" not in str(push)  # never the text


def test_sends_of_one_session_from_both_sides_at_once_are_numbered_without_gaps():
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(ani, budi)["id"]

    async def scenario():
        sends = [_send(ani if i % 2 else budi, sid, f"m{i}", f"pesan {i}") for i in range(40)]
        return await asyncio.gather(*sends)

    shapes = _run(scenario)
    seqs = sorted(s["seq"] for s in shapes)
    assert seqs == list(range(seqs[0], seqs[0] + 40))
    stored = dict(Message.objects.filter(session_id=sid, sender__in=("client", "mitra")).values_list("id", "seq"))
    assert {s["id"]: s["seq"] for s in shapes} == {str(k): v for k, v in stored.items()}


def test_a_batch_of_checks_reads_each_message_with_its_own_sessions_context(monkeypatch):
    """The worker's batch reads the messages in one query and gives each the same context
    `client_context` gives it alone, when the detector asks for it: its own client's previous
    messages in its own session, oldest first, at most three, purged ones left out."""
    pairs = [(make_client(f"C{i}"), make_mitra(f"M{i}", online=True)) for i in range(3)]
    sids = [start_trial_session(c, m)["id"] for c, m in pairs]
    for i, (client, mitra) in enumerate(pairs):
        for j in range(5):
            send_message(client, sids[i], f"sesi {i} pesan {j}", f"c{i}.{j}")
            send_message(mitra, sids[i], f"balasan {i}.{j}", f"m{i}.{j}")
    Message.objects.filter(session_id=sids[1], client_message_id="c1.3").update(body="", body_purged_at=timezone.now())
    last = [Message.objects.get(session_id=sid, client_message_id=f"c{i}.4") for i, sid in enumerate(sids)]
    seen = {}
    monkeypatch.setattr(care, "assess_lazily", lambda body, load: seen.setdefault(body, list(load())) and None)

    assert care.crisis_check_many([(m.session_id, m.pk) for m in last]) == 0
    for message in last:
        assert seen[message.body] == care.client_context(message.session_id, message.seq)
    assert seen["sesi 0 pesan 4"] == ["sesi 0 pesan 1", "sesi 0 pesan 2", "sesi 0 pesan 3"]
    assert seen["sesi 1 pesan 4"] == ["sesi 1 pesan 0", "sesi 1 pesan 1", "sesi 1 pesan 2"]
