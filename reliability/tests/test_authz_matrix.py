"""Object-level authorization: every endpoint and socket frame that names an object, tried
by every kind of caller, generated from one table.

Callers, by their relation to the object:
  owner            the client the object belongs to (the session's, the request's, the device's)
  other_client     another signed-in client
  object_mitra     the mitra the object is with now (the session's current mitra — it was
                   rerouted to them — or the mitra the pairing request was offered to)
  other_mitra      another active mitra
  rerouted_mitra   the session's first mitra, rerouted away by staff
  anonymous        no token at all
  deactivated_mitra a mitra whose account staff switched off

Rules (api.md): the one caller the object is for gets its 2xx; another user's object answers
404 with exactly the body of an id that does not exist (no probing); a token of the wrong
role 403; no token 401. Zero unauthorized 2xx, and nothing an unauthorized call could
have changed has changed.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import pytest
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from accounts.services import mitra_set_active
from billing.models import Extension, Tier
from chat.models import Feedback, Message, Session, SessionReport
from chat.services.lifecycle import session_reroute
from halobestie.testing.fixtures import make_client, make_mitra, send_message, start_trial_session
from notifications.models import Device
from pairing.models import MitraBlock, PairingOffer, PairingRequest
from reliability.figures import record

CALLERS = ["owner", "other_client", "object_mitra", "other_mitra", "rerouted_mitra", "anonymous", "deactivated_mitra"]
MITRAS = {"object_mitra", "other_mitra", "rerouted_mitra", "deactivated_mitra"}


@dataclass
class Op:
    name: str
    method: str
    path: str  # placeholders: {session} {request} {extension} {device}
    app: str  # who the path is for: "client" | "mitra" | "shared"
    ok: int
    body: dict | None = None
    closed: bool = False  # the session is closed first (feedback)
    extension: bool = False  # a pending extension exists
    owner_client: str = "session"  # "session": the session's client; "request": the requester

    def expected(self, caller: str) -> int:
        if caller == "anonymous":
            return 401
        if caller == "deactivated_mitra":
            return 403  # account_deactivated on mitra paths, permission_denied on client paths
        if self.app == "client":
            return {"owner": self.ok, "other_client": 404}.get(caller, 403)
        if self.app == "mitra":
            return {"object_mitra": self.ok, "owner": 403, "other_client": 403}.get(caller, 404)
        return self.ok if caller == "owner" else 404  # shared: either role, only one's own


S = "/api/{app}/sessions/{session}"
OPS = [
    Op("session detail", "GET", S, "client", 200),
    Op("session end", "POST", S + "/end", "client", 200, body={}),
    Op("messages list", "GET", S + "/messages", "client", 200),
    Op("message send", "POST", S + "/messages", "client", 201, body={"client_message_id": "authz-1", "body": "hai"}),
    Op("transcript", "GET", S + "/transcript", "client", 200),
    Op("feedback", "POST", S + "/feedback", "client", 201, body={"rating": 5}, closed=True),
    Op("extension request", "POST", S + "/extensions", "client", 201, body={"tier_id": "{extension_tier}"}),
    Op("block mitra", "POST", S + "/block-mitra", "client", 201),
    Op("unblock mitra", "DELETE", S + "/block-mitra", "client", 204),
    Op("report", "POST", S + "/report", "client", 201, body={"reason": "other", "note": "x"}),
    Op("pairing request get", "GET", "/api/client/pairing-requests/{request}", "client", 200, owner_client="request"),
    Op(
        "pairing request cancel",
        "POST",
        "/api/client/pairing-requests/{request}/cancel",
        "client",
        200,
        owner_client="request",
    ),
    Op("session detail", "GET", S, "mitra", 200),
    Op("session end", "POST", S + "/end", "mitra", 200, body={}),
    Op("messages list", "GET", S + "/messages", "mitra", 200),
    Op("message send", "POST", S + "/messages", "mitra", 201, body={"client_message_id": "authz-2", "body": "hai"}),
    Op("transcript", "GET", S + "/transcript", "mitra", 200),
    Op("extension accept", "POST", S + "/extensions/{extension}/accept", "mitra", 200, extension=True),
    Op("extension reject", "POST", S + "/extensions/{extension}/reject", "mitra", 200, extension=True),
    Op("offer accept", "POST", "/api/mitra/pairing-requests/{request}/accept", "mitra", 201, owner_client="request"),
    Op("offer decline", "POST", "/api/mitra/pairing-requests/{request}/decline", "mitra", 204, owner_client="request"),
    Op("device delete", "DELETE", "/api/shared/devices/{device}", "shared", 204),
]


@dataclass
class World:
    """One session (rerouted from its first mitra to the second), a pairing request offered
    to that second mitra, a device, and every kind of caller."""

    op: Op
    actors: dict = field(default_factory=dict)
    ids: dict = field(default_factory=dict)

    def build(self) -> World:
        op = self.op
        self.extension_tier = Tier.objects.create(kind="extension", name="Tambah 15", minutes=15, price=25000)
        owner = make_client("Ani")
        requester = make_client("Gita")
        first = make_mitra("Budi", online=True)
        current = make_mitra("Dina", online=True)
        session = start_trial_session(owner, first)
        send_message(owner, session["id"], "halo")
        send_message(first, session["id"], "halo juga")
        session_reroute(session_id=session["id"], to_mitra=current.user, actor=None)
        send_message(current, session["id"], "saya lanjutkan ya")
        other_mitra = make_mitra("Eko", online=True)
        deactivated = make_mitra("Fajar", online=True)
        r = requester.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json")
        assert r.status_code == 201, r.content
        request_id = r.json()["id"]
        # Offered to the session's current mitra only (everyone online got it at creation).
        PairingOffer.objects.filter(request_id=request_id).exclude(mitra=current.user).delete()
        mitra_set_active(mitra=deactivated.user, active=False, actor=None)
        if op.extension:
            r = owner.api.post(
                f"/api/client/sessions/{session['id']}/extensions",
                {"tier_id": str(self.extension_tier.id)},
                format="json",
            )
            assert r.status_code == 201, r.content
            self.ids["extension"] = r.json()["id"]
        if op.closed:
            r = owner.api.post(f"/api/client/sessions/{session['id']}/end", {}, format="json")
            assert r.status_code == 200, r.content
        device = f"fcm-owner-{uuid.uuid4().hex}"
        r = owner.api.post("/api/shared/devices", {"fcm_token": device, "platform": "android"}, format="json")
        assert r.status_code == 201, r.content
        self.ids.update(
            session=session["id"], request=request_id, device=device, extension_tier=str(self.extension_tier.id)
        )
        self.ids.setdefault("extension", str(uuid.uuid4()))
        self.actors = {
            "owner": requester if op.owner_client == "request" else owner,
            "other_client": make_client("Citra"),
            "object_mitra": current,
            "other_mitra": other_mitra,
            "rerouted_mitra": first,
            "anonymous": None,
            "deactivated_mitra": deactivated,
        }
        return self

    def url(self, ids: dict | None = None) -> str:
        values = {**self.ids, **(ids or {}), "app": self.op.app}
        return self.op.path.format(**values)

    def call(self, caller: str, ids: dict | None = None):
        actor = self.actors[caller]
        api = actor.api if actor is not None else APIClient()
        body = {k: (v.format(**self.ids) if isinstance(v, str) else v) for k, v in (self.op.body or {}).items()}
        method = getattr(api, self.op.method.lower())
        if self.op.method in ("GET", "DELETE") and not body:
            return method(self.url(ids))
        return method(self.url(ids), body, format="json")


def snapshot(world: World) -> dict:
    """What an unauthorized call must never change."""
    sid = world.ids["session"]
    return {
        "session": tuple(Session.objects.filter(pk=sid).values_list("state", "mitra_id", "ends_at").get()),
        "messages": Message.objects.filter(session_id=sid).count(),
        "feedback": Feedback.objects.filter(session_id=sid).count(),
        "reports": SessionReport.objects.filter(session_id=sid).count(),
        "blocks": MitraBlock.objects.count(),
        "extensions": sorted(Extension.objects.filter(session_id=sid).values_list("state", flat=True)),
        "request": PairingRequest.objects.filter(pk=world.ids["request"]).values_list("state", flat=True).get(),
        "offers": sorted(PairingOffer.objects.filter(request_id=world.ids["request"]).values_list("state", flat=True)),
        "devices": Device.objects.count(),
    }


MATRIX: dict[str, int] = {"rest": 0, "socket": 0}


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=[f"{o.method} {o.app} {o.name}" for o in OPS])
def test_rest_object_authorization(op: Op):
    world = World(op).build()
    if op.name == "unblock mitra":
        MitraBlock.objects.create(client=world.actors["owner"].user, mitra=world.actors["object_mitra"].user)
    before = snapshot(world)
    wrong = []
    # The unauthorized first: had one of them got through, the owner's answer would show it too.
    for caller in sorted(CALLERS, key=lambda c: c == ("owner" if op.app != "mitra" else "object_mitra")):
        expected = op.expected(caller)
        if caller == ("owner" if op.app != "mitra" else "object_mitra"):
            assert snapshot(world) == before, f"{op.name}: an unauthorized call changed state"
        r = world.call(caller)
        MATRIX["rest"] += 1
        body = r.json() if r.content else None
        if r.status_code != expected:
            wrong.append(f"{caller}: {r.status_code} {body} (expected {expected})")
            continue
        if expected >= 400:
            assert set(body) <= {"code", "detail", "fields", "retry_after"} and body["code"], body
        if expected == 404:
            # Not yours must look exactly like "does not exist".
            ghost_ids = {k: str(uuid.uuid4()) for k in ("session", "request", "extension")}
            ghost_ids["device"] = f"fcm-nobody-{uuid.uuid4().hex}"
            ghost = world.call(caller, ghost_ids)
            assert (ghost.status_code, ghost.json()) == (404, body), f"{caller}: {body} vs {ghost.json()}"
        if expected in (401, 403):
            assert (
                body["code"]
                in {401: {"not_authenticated"}, 403: {"permission_denied", "account_deactivated"}}[expected]
            ), body
    assert not wrong, f"{op.method} {op.path} ({op.app}):\n" + "\n".join(wrong)


# --- socket frames -------------------------------------------------------------------------

FRAMES = ["message.send", "message.delivered", "message.read", "typing"]


def frame_data(frame_type: str, world: World, caller: str) -> dict:
    sid = world.ids["session"]
    if frame_type == "message.send":
        return {"session_id": sid, "client_message_id": f"ws-{caller}", "body": "lewat socket"}
    own_side = "client" if caller in ("owner", "other_client") else "mitra"
    other = Message.objects.filter(session_id=sid).exclude(sender__in=(own_side, "system")).order_by("seq")
    ids = [str(i) for i in other.values_list("id", flat=True)]
    if frame_type == "message.delivered":
        return {"session_id": sid, "message_ids": ids}
    if frame_type == "message.read":
        return {"session_id": sid, "up_to": ids[-1]}
    return {"session_id": sid, "is_typing": True}


async def socket_answer(path: str, token: str | None, frame: dict) -> tuple[str, object]:
    """("ack"|"error"|"closed", data or close code) for one frame on a fresh socket."""
    from halobestie.sockets.routing import websocket_application

    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    comm = WebsocketCommunicator(websocket_application, path, headers=headers)
    connected, _ = await comm.connect(timeout=10)
    assert connected
    try:
        if token:
            first = await comm.receive_output(10)
            if first["type"] == "websocket.close":
                return "closed", first.get("code")
        await comm.send_json_to({**frame, "ref": "r1"})
        while True:
            out = await comm.receive_output(10)
            if out["type"] == "websocket.close":
                return "closed", out.get("code")
            import json

            msg = json.loads(out["text"])
            if msg.get("ref") == "r1":
                return msg["type"], msg["data"]
    finally:
        await comm.disconnect()


def socket_expected(caller: str, path: str) -> tuple[str, object]:
    app = "client" if path == "/ws/client/" else "mitra"
    if caller == "anonymous":
        return "error", "not_authenticated"
    if caller == "deactivated_mitra" or (app == "client") != (caller in ("owner", "other_client")):
        return "closed", 4403
    if caller in ("owner", "object_mitra"):
        return "ack", None
    return "error", "not_found"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("frame_type", FRAMES)
def test_socket_object_authorization(frame_type):
    """Every caller on both socket endpoints, for each frame that names a session."""
    world = World(Op("socket", "GET", S, "client", 200)).build()
    wrong = []
    for path in ("/ws/client/", "/ws/mitra/"):
        for caller in CALLERS:
            if caller == "anonymous" and path == "/ws/mitra/":
                continue  # no token is no token: one endpoint is enough
            actor = world.actors[caller]
            data = frame_data(frame_type, world, caller)
            kind, detail = asyncio.run(
                socket_answer(path, actor.token if actor else None, {"type": frame_type, "data": data})
            )
            MATRIX["socket"] += 1
            want_kind, want_detail = socket_expected(caller, path)
            got_detail = detail.get("code") if isinstance(detail, dict) and kind == "error" else detail
            if kind != want_kind or (want_detail is not None and got_detail != want_detail):
                wrong.append(f"{caller} on {path}: {kind} {detail} (expected {want_kind} {want_detail})")
    assert not wrong, f"{frame_type}:\n" + "\n".join(wrong)
    # Nothing landed from anyone but the participants.
    senders = set(
        Message.objects.filter(session_id=world.ids["session"], client_message_id__startswith="ws-").values_list(
            "client_message_id", flat=True
        )
    )
    assert senders <= {"ws-owner", "ws-object_mitra"}


@pytest.mark.django_db
def test_extension_of_another_session_is_not_found():
    """A mitra cannot answer another session's extension through a session of their own."""
    world = World(OPS[17]).build()  # extension accept, with a pending extension
    other = world.actors["other_mitra"]
    own = start_trial_session(make_client("Hana"), other)
    r = other.api.post(f"/api/mitra/sessions/{own['id']}/extensions/{world.ids['extension']}/accept")
    assert r.status_code == 404, r.content
    assert Extension.objects.get(pk=world.ids["extension"]).state == "requested"


@pytest.mark.django_db
def test_read_receipt_for_another_sessions_message_is_not_found():
    """`message.read` up to a message of someone else's session moves nothing."""
    from chat.services.messages import messages_mark_read
    from halobestie.errors import ApplicationError

    world = World(OPS[0]).build()
    stranger = make_client("Indah")
    theirs = start_trial_session(stranger, world.actors["other_mitra"])
    foreign = Message.objects.filter(session_id=world.ids["session"], sender="mitra").last()
    with pytest.raises(ApplicationError) as exc:
        messages_mark_read(session_id=theirs["id"], reader=stranger.user, up_to=str(foreign.id))
    assert exc.value.code == "not_found"
    assert Message.objects.get(pk=foreign.pk).status == "sent"


def test_matrix_figures():
    total = MATRIX["rest"] + MATRIX["socket"]
    if total:
        record(
            "authorization matrix",
            f"{total} cases ({MATRIX['rest']} REST over {len(OPS)} operations x "
            f"{len(CALLERS)} callers, {MATRIX['socket']} socket over {len(FRAMES)} frames)",
        )
        print(f"\nauthorization matrix: {total} cases")


@pytest.mark.django_db(transaction=True)
def test_a_rerouted_mitra_loses_the_session_on_a_socket_already_open():
    """The socket the first mitra had open before the reroute: every frame naming the
    session is refused from the moment it is told (session.reassigned), typing included."""
    from halobestie.sockets.routing import websocket_application

    client, first, second = make_client("Ani"), make_mitra("Budi", online=True), make_mitra("Dina", online=True)
    sid = start_trial_session(client, first)["id"]
    theirs = Message.objects.filter(session_id=sid).last()

    async def scenario():
        comm = WebsocketCommunicator(
            websocket_application, "/ws/mitra/", headers=[(b"authorization", f"Bearer {first.token}".encode())]
        )
        assert (await comm.connect(timeout=10))[0]
        assert (await comm.receive_json_from(10))["type"] == "auth.ok"

        async def answer(frame_type, data, ref):
            await comm.send_json_to({"type": frame_type, "ref": ref, "data": data})
            while True:
                frame = await comm.receive_json_from(10)
                if frame.get("ref") == ref:
                    return frame

        assert (await answer("typing", {"session_id": sid, "is_typing": True}, "t1"))["type"] == "ack"
        from channels.db import database_sync_to_async

        await database_sync_to_async(session_reroute)(session_id=sid, to_mitra=second.user, actor=None)
        while True:
            frame = await comm.receive_json_from(10)
            if frame["type"] == "session.reassigned":
                assert frame["data"] == {"session_id": sid, "session": None}
                break
        await asyncio.sleep(0.6)  # past the typing rate limit
        results = {
            "typing": await answer("typing", {"session_id": sid, "is_typing": True}, "t2"),
            "typing stop": await answer("typing", {"session_id": sid, "is_typing": False}, "t3"),
            "message.send": await answer(
                "message.send", {"session_id": sid, "client_message_id": "late", "body": "masih di sini?"}, "s1"
            ),
            "message.read": await answer("message.read", {"session_id": sid, "up_to": str(theirs.id)}, "r1"),
        }
        await comm.disconnect()
        return results

    results = asyncio.run(scenario())
    wrong = {k: v for k, v in results.items() if v["type"] != "error" or v["data"]["code"] != "not_found"}
    assert not wrong, wrong
    assert not Message.objects.filter(session_id=sid, client_message_id="late").exists()
