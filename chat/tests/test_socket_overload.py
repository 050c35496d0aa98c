"""Overload on a real server: frames that waited too long behind a socket's earlier frames are
refused with `throttled` and a retry hint instead of being handled late; every frame gets
exactly one answer; `ack` means stored, `throttled` means not stored; the refused ones go
through when sent again. (bench/FINDINGS.md N2: the backlog builds in each socket's queue,
where no pool wait shows it.)"""

import asyncio

import pytest

from chat.models import Message, Session
from halobestie.testing.fixtures import make_client, make_mitra, start_trial_session
from halobestie.testing.live import LiveServer, WsClient, in_thread

pytestmark = pytest.mark.django_db(transaction=True)

BURST = 35  # within the socket's flood burst (40): only the admission gate refuses here


def stored_ids(sid) -> set[str]:
    return set(Message.objects.filter(session_id=sid, sender="client").values_list("client_message_id", flat=True))


def test_a_burst_behind_a_slow_queue_is_refused_not_queued_and_nothing_acked_is_lost():
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    sid = start_trial_session(ani, budi)["id"]
    # A frame may wait at most 5 ms behind the socket's earlier ones: a burst of 35 sends,
    # each a database round trip, is far behind by its end on any machine.
    server = LiveServer(env={"SOCKET_DB_MAX_WAIT": "0.005"}).start()

    async def scenario():
        phone = await WsClient(f"{server.ws_url}/ws/client/", ani.token).connect()
        mitra = await WsClient(f"{server.ws_url}/ws/mitra/", budi.token).connect()
        # A first message alone (retried: the server's first frame also imports and connects).
        for _ in range(10):
            warm = await phone.request("message.send", {"session_id": sid, "client_message_id": "warm", "body": "halo"})
            if warm["type"] == "ack":
                break
            await asyncio.sleep(warm["data"].get("retry_after", 0.5))
        assert warm["type"] == "ack", warm
        start = len(phone.frames)
        frames = [{"type": "message.send", "ref": f"r{i}",
                   "data": {"session_id": sid, "client_message_id": f"c{i}", "body": f"pesan {i}"}} for i in range(BURST)]
        await asyncio.gather(*[phone.send(f) for f in frames])  # all at once, no waiting for answers
        answers = {}
        for i in range(BURST):
            answers[f"c{i}"] = await phone.wait_for(lambda f, ref=f"r{i}": f.get("ref") == ref, start=start)
        acked = {cmid for cmid, a in answers.items() if a["type"] == "ack"}
        refused = {cmid: a["data"] for cmid, a in answers.items() if a["type"] == "error"}
        # The recipient got every acked message, and nothing else.
        for cmid in acked:
            await mitra.wait_event("message.new", client_message_id=cmid)
        stored = await in_thread(stored_ids, sid)
        # Sent again one at a time (from the user's other device: this socket's flood budget is
        # spent), each refused frame goes through, once.
        tablet = await WsClient(f"{server.ws_url}/ws/client/", ani.token).connect()
        retried = []
        for cmid in sorted(refused):
            i = cmid[1:]
            for _ in range(20):  # as an app does: again after the hint, until stored
                answer = await tablet.request("message.send", {"session_id": sid, "client_message_id": cmid,
                                                               "body": f"pesan {i}"})
                if answer["type"] == "ack":
                    break
                assert answer["data"]["code"] == "throttled", answer
                await asyncio.sleep(answer["data"]["retry_after"])
            retried.append(answer["type"])
        return phone.frames[start:], acked, refused, stored - {"warm"}, retried

    try:
        frames, acked, refused, stored, retried = asyncio.run(scenario())
    finally:
        server.stop()
    answered = [f["ref"] for f in frames if f.get("ref")]
    assert len(answered) == len(set(answered))  # exactly one answer per frame
    assert acked and refused  # the first frames were handled at once, the late ones refused
    assert {r["code"] for r in refused.values()} == {"throttled"}
    assert all(r["retry_after"] > 0 for r in refused.values())
    assert stored == acked  # ack means stored; throttled means not stored
    assert retried == ["ack"] * len(refused)
    seqs = list(Message.objects.filter(session_id=sid).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1)) and Session.objects.get(id=sid).last_seq == seqs[-1]
    assert len(stored_ids(sid)) == BURST + 1
