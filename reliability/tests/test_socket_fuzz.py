"""Socket frame fuzzing: hostile frames on both socket endpoints never reach a 5xx path.

The REST fuzzer (test_schema_fuzz) cannot reach the socket. Here Hypothesis generates
frames of every type with wrong types, NUL characters, huge numbers, unknown ids, other
sessions' ids and junk keys, sent over a real consumer (channels' communicator, the
real Redis channel layer and PostgreSQL) by the session's client and its mitra. Every
frame with a `ref` is answered by an `ack` or an `error` carrying a contract code — never
`server_error` — the socket stays open, and only well-formed messages are stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time

import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chat.models import Message
from chat.services.messages import MAX_BODY
from halobestie.errors import STATUS_BY_CODE
from halobestie.testing.fixtures import make_client, make_mitra, send_message, start_trial_session
from reliability.figures import record

FRAME_CODES = set(STATUS_BY_CODE) | {"frame_too_large", "unknown_type"}
FRAME_GAP = 0.06  # seconds between frames: under the flood limit (20/s), which is not under test here
EXAMPLES = 120


class SocketPair:
    """The client's and the mitra's sockets, held open on a loop in a thread of their own."""

    def __init__(self, client_token: str, mitra_token: str):
        self.tokens = {"client": client_token, "mitra": mitra_token}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.comms: dict[str, WebsocketCommunicator] = {}
        self.sent = 0

    def run(self, coro, timeout=20):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __enter__(self):
        self.thread.start()
        self.run(self._open())
        return self

    def __exit__(self, *exc):
        self.run(self._close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    async def _open(self):
        from halobestie.sockets.routing import websocket_application

        for role, token in self.tokens.items():
            comm = WebsocketCommunicator(
                websocket_application, f"/ws/{role}/", headers=[(b"authorization", f"Bearer {token}".encode())]
            )
            connected, _ = await comm.connect(timeout=10)
            assert connected
            first = json.loads((await comm.receive_output(10))["text"])
            assert first["type"] == "auth.ok", first
            self.comms[role] = comm

    async def _close(self):
        for comm in self.comms.values():
            await comm.disconnect()

    async def _exchange(self, role: str, raw: str):
        comm = self.comms[role]
        await comm.send_to(text_data=raw)
        while True:
            out = await comm.receive_output(10)
            if out["type"] == "websocket.close":
                return {"type": "closed", "code": out.get("code")}
            frame = json.loads(out["text"])
            if frame.get("ref") == "fz" or (frame["type"] in ("error", "ack", "pong") and "ref" not in frame):
                return frame

    def exchange(self, role: str, raw: str) -> dict:
        time.sleep(FRAME_GAP)
        self.sent += 1
        return self.run(self._exchange(role, raw))


def _anything():
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        st.text(max_size=30),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    )


def frames(ids: dict):
    """Frames of every type the apps send, with fields drawn from good and hostile values."""
    session = st.one_of(st.just(ids["session"]), st.just(ids["other_session"]), st.uuids().map(str), _anything())
    message = st.one_of(
        st.sampled_from(ids["messages"]), st.just(ids["other_message"]), st.uuids().map(str), _anything()
    )
    text = st.one_of(
        st.text(max_size=200),
        st.text(min_size=MAX_BODY - 2, max_size=MAX_BODY + 2),
        st.just("a\x00b"),
        st.just(" \n\t "),
        _anything(),
    )
    data = st.fixed_dictionaries(
        {},
        optional={
            "session_id": session,
            "client_message_id": st.one_of(st.text(max_size=70), st.just("cm\x00"), _anything()),
            "body": text,
            "message_ids": st.one_of(
                st.lists(message, max_size=5), st.lists(st.text(), min_size=501, max_size=501), _anything()
            ),
            "up_to": message,
            "is_typing": st.one_of(st.booleans(), _anything()),
            "token": st.text(max_size=20),
        },
    )
    frame_type = st.sampled_from(
        [
            "message.send",
            "message.delivered",
            "message.read",
            "typing",
            "presence.heartbeat",
            "ping",
            "auth",
            "session.end",
            "",
        ]
    )
    return st.one_of(
        st.builds(
            lambda t, d, extra: json.dumps({"type": t, "ref": "fz", "data": d, **extra}),
            frame_type,
            st.one_of(data, _anything()),
            st.dictionaries(st.sampled_from(["x", "token", "id"]), _anything(), max_size=2),
        ),
        st.builds(lambda t, d: json.dumps({"type": t, "ref": "fz", **d}), frame_type, data),
        st.text(min_size=1, max_size=50),  # not JSON, or JSON that is not an object
    )


@pytest.mark.django_db(transaction=True)
def test_socket_frames_never_fail_the_server(caplog):
    client, mitra = make_client("Ani"), make_mitra("Budi", online=True)
    session = start_trial_session(client, mitra)
    for i in range(3):
        send_message(client, session["id"], f"pesan {i}")
        send_message(mitra, session["id"], f"balasan {i}")
    other_client = make_client("Citra")
    other = start_trial_session(other_client, make_mitra("Dina", online=True))
    send_message(other_client, other["id"], "bukan urusanmu")
    ids = {
        "session": session["id"],
        "other_session": other["id"],
        "messages": [str(m) for m in Message.objects.filter(session_id=session["id"]).values_list("id", flat=True)],
        "other_message": str(Message.objects.filter(session_id=other["id"]).last().id),
    }
    other_before = list(Message.objects.filter(session_id=other["id"]).values_list("id", "status", "body"))
    bad: list[str] = []
    caplog.set_level(logging.ERROR)

    with SocketPair(client.token, mitra.token) as pair:

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(role=st.sampled_from(["client", "mitra"]), raw=frames(ids))
        @example(
            role="client",
            raw=json.dumps(
                {
                    "type": "message.send",
                    "ref": "fz",
                    "data": {"session_id": ids["session"], "client_message_id": "nul-body", "body": "a\x00b"},
                }
            ),
        )
        @example(
            role="mitra",
            raw=json.dumps(
                {
                    "type": "message.send",
                    "ref": "fz",
                    "data": {"session_id": ids["session"], "client_message_id": "nul\x00id", "body": "halo"},
                }
            ),
        )
        @example(
            role="client",
            raw=json.dumps(
                {
                    "type": "message.read",
                    "ref": "fz",
                    "data": {"session_id": ids["session"], "up_to": ids["other_message"]},
                }
            ),
        )
        def fuzz(role, raw):
            answer = pair.exchange(role, raw)
            if answer["type"] == "closed":
                bad.append(f"{role} socket closed ({answer['code']}) by {raw[:200]!r}")
            elif answer["type"] == "error":
                code = answer["data"].get("code")
                if code not in FRAME_CODES:
                    bad.append(f"{role}: error {answer['data']} for {raw[:200]!r}")

        fuzz()
        sent = pair.sent
        assert not bad, "\n".join(bad[:20])

    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR
    ][:5]
    # Nothing reached the other session; every stored message is well formed.
    assert list(Message.objects.filter(session_id=other["id"]).values_list("id", "status", "body")) == other_before
    for body, cmid in (
        Message.objects.filter(session_id=session["id"])
        .exclude(sender="system")
        .values_list("body", "client_message_id")
    ):
        assert isinstance(body, str) and body.strip() and len(body) <= MAX_BODY and "\x00" not in body
        assert cmid and len(cmid) <= 64
    record("socket frame fuzzing", f"{sent} hostile frames on the client and mitra sockets, 0 server errors")
