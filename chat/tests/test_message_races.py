"""Racing retries of the same message (threads, each with its own connection) make one row."""

from collections import Counter

import pytest

from chat.models import Message
from halobestie.testing.concurrency import race
from halobestie.testing.fixtures import make_client, make_mitra, start_trial_session

pytestmark = pytest.mark.django_db(transaction=True)


def test_racing_retries_make_one_message():
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(ani, budi)["id"]

    for round_no in range(5):
        cmid = f"same-{round_no}"

        def send(cmid=cmid):
            r = ani.api.post(f"/api/client/sessions/{sid}/messages", {"client_message_id": cmid, "body": "halo"},
                             format="json")
            return r.status_code, r.json()

        results = race([send] * 4)
        assert Counter(status for status, _ in results) == {201: 1, 200: 3}, results
        assert len({body["id"] for _, body in results}) == 1
        assert Message.objects.filter(session_id=sid, client_message_id=cmid).count() == 1


def test_racing_messages_with_different_keys_all_land_in_order():
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(ani, budi)["id"]

    def sender(actor, key):
        def send():
            role = actor.user.role
            r = actor.api.post(f"/api/{role}/sessions/{sid}/messages", {"client_message_id": key, "body": key},
                               format="json")
            return r.status_code, r.json()
        return send

    calls = [sender(ani, f"c{i}") for i in range(6)] + [sender(budi, f"m{i}") for i in range(6)]
    results = race(calls)
    assert {status for status, _ in results} == {201}
    page = ani.api.get(f"/api/client/sessions/{sid}/messages").json()
    bodies = [m["body"] for m in page["results"] if m["sender"] != "system"]
    assert sorted(bodies) == sorted([f"c{i}" for i in range(6)] + [f"m{i}" for i in range(6)])
    seqs = [m.seq for m in Message.objects.filter(session_id=sid).order_by("seq")]
    assert [str(m.id) for m in Message.objects.filter(session_id=sid).order_by("seq")] == [
        m["id"] for m in page["results"]]
    assert seqs == sorted(seqs)
