"""A whole Halo Bestie session from the apps' side, against `./dev.sh run`.

    ./dev.sh run                                  # in one terminal
    .venv/bin/python examples/walkthrough.py      # in another

What a client app and a mitra app do, in order, with nothing but the public API (REST and
the sockets; see /api/docs/ and /api/docs/sockets/): sign in, the mitra goes online, the
client asks for a paid session, the mitra accepts, the client pays in the sandbox, they
chat, the client buys more time (the mitra agrees, the client pays again), the session
ends, the client leaves feedback. Each step prints what it saw; any surprise exits 1.

Tokens: the real apps get a Firebase ID token from Firebase Auth. `./dev.sh run` runs in the
Firebase emulator mode, which accepts unsigned tokens, so this script makes its own
(`mint_token` below; `manage.py mint_token` prints the same kind).

Needs httpx and websockets (both in the project's test requirements).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import sys
import time
import uuid

import httpx
import websockets

# --- tokens (emulator mode only) ------------------------------------------------------------


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def mint_token(uid: str, *, project: str, phone: str | None = None, email: str | None = None) -> str:
    """An unsigned Firebase ID token, as the Auth Emulator issues them."""
    now = int(time.time())
    claims = {
        "iss": f"https://securetoken.google.com/{project}", "aud": project, "sub": uid, "user_id": uid,
        "auth_time": now, "iat": now, "exp": now + 3600,
        "firebase": {"sign_in_provider": "phone" if phone else "google.com",
                     "identities": {"phone": [phone]} if phone else {"email": [email]}},
    }
    claims.update({"phone_number": phone} if phone else {"email": email})
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


# --- a socket that keeps every frame -----------------------------------------------------------


class Socket:
    def __init__(self, name: str, url: str, token: str, *, first_frame_auth: bool):
        self.name, self.url, self.token, self.first_frame_auth = name, url, token, first_frame_auth
        self.frames: list[dict] = []
        self._new = asyncio.Event()

    async def open(self) -> Socket:
        # A header where the platform allows it; otherwise the first frame (never the URL).
        headers = None if self.first_frame_auth else {"Authorization": f"Bearer {self.token}"}
        self.ws = await websockets.connect(self.url, additional_headers=headers)
        self._reader = asyncio.create_task(self._read())
        if self.first_frame_auth:
            await self.send("auth", {"token": self.token}, ref="auth")
        ok = await self.wait("auth.ok")
        step(f"{self.name} socket authenticated as {ok['data']['role']} {ok['data']['id'][:8]}…")
        return self

    async def _read(self):
        async for raw in self.ws:
            self.frames.append(json.loads(raw))
            self._new.set()

    async def send(self, frame_type: str, data: dict, ref: str | None = None) -> str:
        ref = ref or uuid.uuid4().hex[:12]
        await self.ws.send(json.dumps({"type": frame_type, "ref": ref, "data": data}))
        return ref

    async def request(self, frame_type: str, data: dict) -> dict:
        ref = await self.send(frame_type, data)
        answer = await self.wait(lambda f: f.get("ref") == ref and f["type"] in ("ack", "error"))
        if answer["type"] == "error":
            fail(f"{frame_type} refused: {answer['data']}")
        return answer["data"]

    async def wait(self, match, timeout: float = 30, **data) -> dict:
        """The first frame (from the start) of type `match` whose data has `data`."""
        def ok(frame):
            if callable(match):
                return match(frame)
            return frame["type"] == match and all(frame.get("data", {}).get(k) == v for k, v in data.items())

        deadline = time.monotonic() + timeout
        while True:
            for frame in self.frames:
                if ok(frame):
                    return frame
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"{self.name}: no {match if isinstance(match, str) else 'matching'} frame {data or ''} "
                     f"within {timeout:g} s; last: {[f['type'] for f in self.frames[-6:]]}")
            self._new.clear()
            try:
                await asyncio.wait_for(self._new.wait(), left)
            except TimeoutError:
                pass

    async def close(self):
        await self.ws.close()


# --- output -----------------------------------------------------------------------------------


def step(text: str) -> None:
    print(f"  ✓ {text}", flush=True)


def section(text: str) -> None:
    print(f"\n{text}", flush=True)


def fail(text: str) -> None:
    print(f"  ✗ {text}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def expect(response: httpx.Response, *statuses: int) -> dict:
    if response.status_code not in statuses:
        fail(f"{response.request.method} {response.request.url.path} → {response.status_code} {response.text[:300]}")
    return response.json() if response.content else {}


# --- the walkthrough ----------------------------------------------------------------------------


async def pay_in_sandbox(invoice_url: str) -> None:
    """What a person does on the sandbox invoice page: press "Bayar"."""
    async with httpx.AsyncClient(timeout=20, follow_redirects=True) as browser:
        page = await browser.get(invoice_url)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if page.status_code != 200 or token is None:
            fail(f"sandbox page {invoice_url} → {page.status_code}")
        paid = await browser.post(invoice_url, data={"action": "pay", "csrfmiddlewaretoken": token[1]})
        if "Pembayaran berhasil" not in paid.text:
            fail(f"sandbox payment did not go through ({paid.status_code})")
    step(f"paid in the sandbox: {invoice_url}")


async def invoice_url_of(client_ws: Socket, payment: dict | None, **match) -> str:
    """The URL is in the payment once the invoice exists; otherwise payment.updated brings it."""
    if payment and payment.get("invoice_url"):
        return payment["invoice_url"]
    updated = await client_ws.wait(lambda f: f["type"] == "payment.updated" and f["data"].get("invoice_url")
                                   and all(f["data"].get(k) == v for k, v in match.items()))
    return updated["data"]["invoice_url"]


async def walkthrough(base: str, *, project: str, mitra_phone: str) -> None:
    ws_base = base.replace("http", "ws", 1)
    run = uuid.uuid4().hex[:8]
    client_token = mint_token(f"walkthrough-{run}", project=project, email=f"walkthrough-{run}@example.com")
    mitra_token = mint_token(f"phone-{mitra_phone.lstrip('+')}", project=project, phone=mitra_phone)
    as_client = {"Authorization": f"Bearer {client_token}"}
    as_mitra = {"Authorization": f"Bearer {mitra_token}"}

    async with httpx.AsyncClient(base_url=base, timeout=20) as http:
        section("1. Sign in")
        me = expect(await http.post("/api/client/auth/session", json={"display_name": "Walkthrough"},
                                    headers=as_client), 200, 201)
        step(f"client {me['id'][:8]}… signed in (registered: {me['is_registered']})")
        mitra = expect(await http.post("/api/mitra/auth/session", headers=as_mitra), 200)
        step(f"mitra {mitra['display_name']} signed in")
        client_ws = await Socket("client", f"{ws_base}/ws/client/", client_token, first_frame_auth=True).open()
        mitra_ws = await Socket("mitra", f"{ws_base}/ws/mitra/", mitra_token, first_frame_auth=False).open()

        section("2. The mitra goes online")
        presence = expect(await http.put("/api/mitra/presence", json={"status": "online"}, headers=as_mitra), 200)
        step(f"presence {presence['status']}, heartbeat every {presence['heartbeat_interval']} s")

        section("3. The client asks for a paid session")
        pricing = expect(await http.get("/api/client/pricing", headers=as_client), 200)
        tier = pricing["tiers"][0]
        step(f"tier {tier['name']!r}: {tier['minutes']} min, Rp{tier['price']:,}".replace(",", "."))
        request = expect(await http.post("/api/client/pairing-requests", json={"tier_id": tier["id"]},
                                         headers=as_client), 201)
        step(f"pairing request {request['id'][:8]}… {request['state']}")

        section("4. The mitra accepts")
        offer = await mitra_ws.wait("pairing.offer", id=request["id"])
        step(f"offer received: client {offer['data']['client']['alias']!r}")
        session = expect(await http.post(f"/api/mitra/pairing-requests/{request['id']}/accept",
                                         headers=as_mitra), 201)
        sid = session["id"]
        matched = await client_ws.wait("pairing.matched", request_id=request["id"])
        step(f"matched: session {sid[:8]}… {matched['data']['session']['state']}")

        section("5. The client pays in the sandbox")
        url = await invoice_url_of(client_ws, matched["data"]["session"]["payment"], session_id=sid, kind="session")
        await pay_in_sandbox(url)
        active = await client_ws.wait("session.updated", id=sid, state="active")
        step(f"session active until {active['data']['ends_at']}")

        section("6. They chat")
        sent = await client_ws.request("message.send", {"session_id": sid, "client_message_id": f"w-{run}-1",
                                                        "body": "Halo, aku lagi susah tidur akhir-akhir ini."})
        step(f"client sent message #{sent['seq']} (acked)")
        got = await mitra_ws.wait("message.new", id=sent["id"])
        await mitra_ws.request("message.read", {"session_id": sid, "up_to": got["data"]["id"]})
        await client_ws.wait("message.status", session_id=sid, status="read")
        step("mitra received and read it (client saw the read receipt)")
        reply = expect(await http.post(f"/api/mitra/sessions/{sid}/messages", headers=as_mitra,
                                       json={"client_message_id": f"w-{run}-2", "body": "Halo, aku di sini."}), 201)
        await client_ws.wait("message.new", id=reply["id"])
        step(f"mitra replied over REST (#{reply['seq']}), client got it on the socket")

        section("7. The client buys more time")
        ext_tier = pricing["extension_tiers"][0]
        ext = expect(await http.post(f"/api/client/sessions/{sid}/extensions", json={"tier_id": ext_tier["id"]},
                                     headers=as_client), 201)
        await mitra_ws.wait("extension.requested", id=ext["id"])
        step(f"extension {ext_tier['name']!r} requested; the mitra was asked")
        accepted = expect(await http.post(f"/api/mitra/sessions/{sid}/extensions/{ext['id']}/accept",
                                          headers=as_mitra), 200)
        updated = await client_ws.wait("extension.updated", id=ext["id"], state="accepted")
        step(f"mitra accepted ({accepted['state']})")
        url = await invoice_url_of(client_ws, updated["data"]["payment"], extension_id=ext["id"])
        await pay_in_sandbox(url)
        await client_ws.wait("extension.updated", id=ext["id"], state="applied")
        longer = await client_ws.wait(lambda f: f["type"] == "session.updated" and f["data"]["id"] == sid
                                      and f["data"]["ends_at"] != active["data"]["ends_at"]
                                      and f["data"]["pending_extension"] is None)
        step(f"extension applied: now until {longer['data']['ends_at']}")

        section("8. The session ends")
        current = expect(await http.get(f"/api/client/sessions/{sid}", headers=as_client), 200)
        who, headers = ("client", as_client) if current["can_end_early"] else ("mitra", as_mitra)
        ended = expect(await http.post(f"/api/{who}/sessions/{sid}/end", json={"reason": "selesai"},
                                       headers=headers), 200)
        await client_ws.wait("session.updated", id=sid, state="closed")
        step(f"ended by the {who}: {ended['state']} ({ended['closure']['reason']})")

        section("9. The client leaves feedback")
        feedback = expect(await http.post(f"/api/client/sessions/{sid}/feedback", headers=as_client,
                                          json={"rating": 5, "comment": "Terima kasih."}), 201)
        step(f"rated {feedback['rating']}/5")
        transcript = expect(await http.get(f"/api/client/sessions/{sid}/transcript", headers=as_client), 200)
        step(f"transcript: {len(transcript['messages'])} messages")
        await http.put("/api/mitra/presence", json={"status": "offline"}, headers=as_mitra)
        await client_ws.close()
        await mitra_ws.close()
    print("\nDone: a whole paid session, with an extension, from sign-in to feedback.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the public entrypoint")
    parser.add_argument("--project", default="demo-halobestie", help="FIREBASE_PROJECT_ID of the server")
    parser.add_argument("--mitra-phone", default="+6281100000001", help="a mitra seeded by seed_demo")
    args = parser.parse_args()
    asyncio.run(walkthrough(args.base_url.rstrip("/"), project=args.project, mitra_phone=args.mitra_phone))


if __name__ == "__main__":
    main()
