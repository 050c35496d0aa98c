"""Messages over REST and the services behind both REST and the socket: sending, limits,
idempotency, who may write, receipts, typing."""

import pytest

from chat.models import Message, Session
from chat.services.messages import messages_mark_delivered, messages_mark_read, typing_relay
from halobestie.errors import ApplicationError
from halobestie.realtime import client_group, mitra_group
from halobestie.testing.events import EventProbe
from halobestie.testing.fixtures import make_client, make_mitra, send_message, start_trial_session

pytestmark = pytest.mark.django_db

MESSAGE_KEYS = {"id", "session_id", "seq", "client_message_id", "sender", "body", "created_at", "status",
                "delivered_at", "read_at"}


@pytest.fixture
def live(client_ani, mitra_budi):
    return start_trial_session(client_ani, mitra_budi)["id"]


def post(actor, sid, body, cmid="m1"):
    return actor.api.post(f"/api/{actor.user.role}/sessions/{sid}/messages",
                          {"client_message_id": cmid, "body": body}, format="json")


def test_send_stores_and_tells_both_sides(client_ani, mitra_budi, live, django_capture_on_commit_callbacks):
    with EventProbe(client_group(client_ani.id), mitra_group(mitra_budi.id)) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            r = post(client_ani, live, "aku lagi sedih", "c-1")
        assert r.status_code == 201, r.content
        message = r.json()
        for group in (client_group(client_ani.id), mitra_group(mitra_budi.id)):
            assert probe.wait_event("message.new", group=group, id=message["id"])["data"] == message
    assert set(message) == MESSAGE_KEYS
    # seq 1 is the system message that opened the session.
    assert message == {**message, "session_id": live, "seq": 2, "client_message_id": "c-1", "sender": "client",
                       "body": "aku lagi sedih", "status": "sent", "delivered_at": None, "read_at": None}
    row = Message.objects.get(id=message["id"])
    assert (row.sender, row.body, row.session_id, row.sender_mitra_id) == ("client", "aku lagi sedih",
                                                                           Session.objects.get(pk=live).pk, None)
    r = post(mitra_budi, live, "aku di sini", "b-1")
    assert r.status_code == 201 and r.json()["sender"] == "mitra"
    assert Message.objects.get(id=r.json()["id"]).sender_mitra_id == mitra_budi.id
    assert Session.objects.get(pk=live).last_mitra_message_at is not None


def test_retry_with_the_same_client_message_id_returns_the_same_message(client_ani, mitra_budi, live):
    first = post(client_ani, live, "halo", "dup")
    again = post(client_ani, live, "halo", "dup")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert Message.objects.filter(session_id=live, client_message_id="dup").count() == 1
    # The key is per sender: the mitra may use the same string.
    other = post(mitra_budi, live, "halo juga", "dup")
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_body_limits(client_ani, live):
    assert post(client_ani, live, "x" * 4000, "max").status_code == 201
    for body, cmid in (("x" * 4001, "over"), ("", "empty"), ("   \n ", "blank")):
        r = post(client_ani, live, body, cmid)
        assert r.status_code == 400, cmid
        assert r.json()["code"] == "validation_error" and "body" in r.json()["fields"]
    r = client_ani.api.post(f"/api/client/sessions/{live}/messages", {"body": "tanpa id"}, format="json")
    assert r.status_code == 400 and "client_message_id" in r.json()["fields"]
    r = post(client_ani, live, "id terlalu panjang", "k" * 65)
    assert r.status_code == 400 and "client_message_id" in r.json()["fields"]
    assert Message.objects.filter(session_id=live).exclude(sender="system").count() == 1
    # Emoji and other multi-byte text count characters, not bytes.
    assert post(client_ani, live, "😊" * 4000, "emoji").status_code == 201


def test_outsiders_can_neither_read_nor_write(client_ani, mitra_budi, live):
    citra = make_client("Citra")
    eko = make_mitra("Eko", online=True)
    send_message(client_ani, live, "rahasia", "c1")
    for actor in (citra, eko):
        role = actor.user.role
        for path in (f"/api/{role}/sessions/{live}", f"/api/{role}/sessions/{live}/messages",
                     f"/api/{role}/sessions/{live}/transcript"):
            r = actor.api.get(path)
            assert r.status_code == 404 and r.json() == {"code": "not_found", "detail": r.json()["detail"]}
        r = post(actor, live, "nyusup", "x1")
        assert r.status_code == 404
        assert actor.api.post(f"/api/{role}/sessions/{live}/end").status_code == 404
    assert not Message.objects.filter(client_message_id="x1").exists()
    for service, kwargs in ((messages_mark_read, {"up_to": str(Message.objects.last().id)}),
                            (messages_mark_delivered, {"message_ids": [str(Message.objects.last().id)]})):
        with pytest.raises(ApplicationError) as exc:
            service(session_id=live, reader=citra.user, **kwargs)
        assert exc.value.code == "not_found"
    with pytest.raises(ApplicationError) as exc:
        typing_relay(session_id=live, sender=eko.user, is_typing=True)
    assert exc.value.code == "not_found"


def test_no_writing_outside_active_and_closing(client_ani, mitra_budi, live, session_tier):
    client_ani.api.post(f"/api/client/sessions/{live}/end")
    r = post(client_ani, live, "masih di sini?", "late")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    assert post(mitra_budi, live, "halo?", "late-m").status_code == 409
    # A paid session waiting for payment is not open for messages either.
    citra = make_client("Citra")
    r = citra.api.post("/api/client/pairing-requests", {"tier_id": str(session_tier.id)}, format="json")
    paid = mitra_budi.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept").json()
    assert paid["state"] == "awaiting_payment"
    assert post(citra, paid["id"], "sudah bayar", "p1").status_code == 409


def test_retry_after_close_still_returns_the_stored_message(client_ani, live):
    first = post(client_ani, live, "terakhir", "last")
    client_ani.api.post(f"/api/client/sessions/{live}/end")
    again = post(client_ani, live, "terakhir", "last")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]


def test_receipts_move_forward_only_and_go_to_the_sender(client_ani, mitra_budi, live,
                                                         django_capture_on_commit_callbacks):
    m1 = send_message(client_ani, live, "satu", "c1")
    m2 = send_message(client_ani, live, "dua", "c2")
    m3 = send_message(client_ani, live, "tiga", "c3")
    mine = send_message(mitra_budi, live, "balasan", "b1")
    cg, mg = client_group(client_ani.id), mitra_group(mitra_budi.id)
    with EventProbe(cg, mg) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            # The mitra's device got m1 and m2; its own message is not the mitra's to mark.
            done = messages_mark_delivered(session_id=live, reader=mitra_budi.user,
                                           message_ids=[m1["id"], m2["id"], mine["id"], "junk"])
        assert sorted(done) == sorted([m1["id"], m2["id"]])
        status = probe.wait_event("message.status", group=cg)["data"]
        assert sorted(status["message_ids"]) == sorted(done)
        assert status["status"] == "delivered" and status["session_id"] == live and status["at"]
        with django_capture_on_commit_callbacks(execute=True):
            read = messages_mark_read(session_id=live, reader=mitra_budi.user, up_to=m2["id"])
        assert sorted(read) == sorted([m1["id"], m2["id"]])
        probe.wait_event("message.status", group=cg, status="read")
        probe.settle()
        assert probe.events("message.status", group=mg) == []
    rows = {str(m.id): m for m in Message.objects.filter(session_id=live)}
    assert (rows[m1["id"]].status, rows[m2["id"]].status, rows[m3["id"]].status) == ("read", "read", "sent")
    assert rows[m1["id"]].delivered_at and rows[m1["id"]].read_at
    assert rows[mine["id"]].status == "sent"
    # Backwards is a no-op: delivered after read changes nothing and tells nobody.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert messages_mark_delivered(session_id=live, reader=mitra_budi.user, message_ids=[m1["id"]]) == []
        assert messages_mark_read(session_id=live, reader=mitra_budi.user, up_to=m1["id"]) == []
    assert callbacks == []
    assert Message.objects.get(id=m1["id"]).status == "read"
    # Read up to m3 without delivered first: delivered_at is filled in too.
    assert messages_mark_read(session_id=live, reader=mitra_budi.user, up_to=m3["id"]) == [m3["id"]]
    m3_row = Message.objects.get(id=m3["id"])
    assert m3_row.status == "read" and m3_row.delivered_at == m3_row.read_at
    # The client sees its messages' statuses in the history.
    page = client_ani.api.get(f"/api/client/sessions/{live}/messages").json()["results"]
    assert {m["id"]: m["status"] for m in page if m["sender"] == "client"} == {
        m1["id"]: "read", m2["id"]: "read", m3["id"]: "read"}


def test_receipt_validation(client_ani, mitra_budi, live):
    m1 = send_message(client_ani, live, "satu", "c1")
    other = start_trial_session(make_client("Citra"), make_mitra("Eko", online=True))
    for bad in ([], "x", None, [1] * 501):
        with pytest.raises(ApplicationError) as exc:
            messages_mark_delivered(session_id=live, reader=mitra_budi.user, message_ids=bad)
        assert exc.value.code == "validation_error"
    for bad in (None, "nope", 5):
        with pytest.raises(ApplicationError) as exc:
            messages_mark_read(session_id=live, reader=mitra_budi.user, up_to=bad)
        assert exc.value.code == "validation_error"
    # A message of another session is not found here.
    other_msg = Message.objects.filter(session_id=other["id"]).first()
    with pytest.raises(ApplicationError) as exc:
        messages_mark_read(session_id=live, reader=mitra_budi.user, up_to=str(other_msg.id))
    assert exc.value.code == "not_found"
    assert Message.objects.get(id=m1["id"]).status == "sent"


def test_typing_targets_the_other_side_and_is_never_stored(client_ani, mitra_budi, live):
    before = Message.objects.count()
    group, payload = typing_relay(session_id=live, sender=client_ani.user, is_typing=True)
    assert group == mitra_group(mitra_budi.id)
    assert payload == {"session_id": live, "is_typing": True, "sender": "client"}
    group, payload = typing_relay(session_id=live, sender=mitra_budi.user, is_typing=False)
    assert group == client_group(client_ani.id) and payload["sender"] == "mitra"
    with pytest.raises(ApplicationError):
        typing_relay(session_id=live, sender=client_ani.user, is_typing="yes")
    assert Message.objects.count() == before
