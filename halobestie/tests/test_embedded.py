"""The embedded mode (`./dev.sh run` = `python -m halobestie.embedded`) works end to end.

One real embedded process on free ports, with its own SQLite file, the in-process channel
layer and the in-process ticker (no Redis, no Celery): a free-trial session from sign-in to
feedback, its clock run out by the ticker (active → closing → closed); DEBUG's unknown
/api/ path answers JSON; the control center answers on the internal port; and the example
client (examples/walkthrough.py) walks a whole paid session with an extension through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from halobestie.testing.live import WsClient, free_port
from halobestie.testing.tokens import mint_id_token

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MITRA_PHONE = "+6281100000003"  # seeded by seed_demo; the walkthrough uses ...0001


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("embedded")
    port, internal_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "TEST_DATABASE_NAME", "DB_POOL") and not k.startswith("THROTTLE_")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "halobestie.settings.local",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "HOST": "127.0.0.1", "PORT": str(port), "INTERNAL_PORT": str(internal_port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SWEEP_INTERVAL": "0.5",
        "PYTHONUNBUFFERED": "1",
    })
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)
    # A one-minute free trial and a short goodbye: the ticker ends it while the test watches.
    subprocess.run([*manage, "platform_settings", "set", "free_trial_minutes=1", "goodbye_window=3",
                    "ending_soon_warnings=30"], cwd=ROOT, env=env, check=True, capture_output=True)
    log = open(workdir / "embedded.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "halobestie.embedded"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"embedded exited: {(workdir / 'embedded.log').read_text()[-3000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", internal_port), timeout=0.2):
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            if time.time() > deadline:
                raise RuntimeError("embedded did not listen in 60 s")
            time.sleep(0.1)
        yield {"http": f"http://127.0.0.1:{port}", "ws": f"ws://127.0.0.1:{port}",
               "internal": f"http://127.0.0.1:{internal_port}", "log": workdir / "embedded.log"}
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_a_free_trial_runs_its_whole_course_on_the_in_process_layer_and_ticker(embedded):
    client_token = mint_id_token("embedded-ani", provider="google.com", email="ani@example.com",
                                 project_id="demo-halobestie")
    mitra_token = mint_id_token(f"phone-{MITRA_PHONE.lstrip('+')}", provider="phone", phone=MITRA_PHONE,
                                project_id="demo-halobestie")
    as_client, as_mitra = {"Authorization": f"Bearer {client_token}"}, {"Authorization": f"Bearer {mitra_token}"}

    async def scenario():
        async with httpx.AsyncClient(base_url=embedded["http"], timeout=20) as http:
            assert (await http.post("/api/client/auth/session", headers=as_client)).status_code == 201
            assert (await http.post("/api/mitra/auth/session", headers=as_mitra)).status_code == 200
            assert (await http.put("/api/mitra/presence", json={"status": "online"}, headers=as_mitra)).json()[
                "status"] == "online"
            client = await WsClient(f"{embedded['ws']}/ws/client/", client_token, header_auth=False).connect()
            mitra = await WsClient(f"{embedded['ws']}/ws/mitra/", mitra_token).connect()

            r = await http.post("/api/client/pairing-requests", json={"free_trial": True}, headers=as_client)
            assert r.status_code == 201, r.text
            offer = await mitra.wait_event("pairing.offer", id=r.json()["id"])
            r = await http.post(f"/api/mitra/pairing-requests/{offer['data']['id']}/accept", headers=as_mitra)
            assert r.status_code == 201, r.text
            sid = r.json()["id"]
            matched = await client.wait_event("pairing.matched")
            assert matched["data"]["session"]["state"] == "active" and matched["data"]["session"]["free_trial"]

            ack = await client.request("message.send", {"session_id": sid, "client_message_id": "e1", "body": "halo"})
            assert ack["type"] == "ack" and ack["data"]["sender"] == "client"
            await mitra.wait_event("message.new", id=ack["data"]["id"])
            reply = await mitra.request("message.send", {"session_id": sid, "client_message_id": "e2",
                                                         "body": "halo juga"})
            await client.wait_event("message.new", id=reply["data"]["id"])

            # The clock: only the in-process ticker can move it (no Celery here).
            soon = await client.wait_event("session.ending_soon", timeout=90, session_id=sid)
            assert 0 <= soon["data"]["seconds_left"] <= 30
            closing = await client.wait_event("session.updated", timeout=90, id=sid, state="closing")
            assert closing["data"]["closing_ends_at"]
            await mitra.wait_event("session.updated", timeout=30, id=sid, state="closing")
            closed = await client.wait_event("session.updated", timeout=30, id=sid, state="closed")
            assert closed["data"]["closure"]["reason"] == "time_up"

            r = await http.post(f"/api/client/sessions/{sid}/feedback", json={"rating": 4}, headers=as_client)
            assert r.status_code == 201, r.text
            transcript = (await http.get(f"/api/client/sessions/{sid}/transcript", headers=as_client)).json()
            assert [m["body"] for m in transcript["messages"] if m["sender"] != "system"] == ["halo", "halo juga"]
            await client.close()
            await mitra.close()
            await http.put("/api/mitra/presence", json={"status": "offline"}, headers=as_mitra)

    asyncio.run(scenario())


def test_debug_mode_answers_unknown_api_paths_in_json_and_serves_the_control_center(embedded):
    with httpx.Client(timeout=20) as http:
        r = http.get(f"{embedded['http']}/api/nothing/here")
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        assert http.get(f"{embedded['http']}/api/shared/ready").json()["checks"]["redis"]["mode"] == "in-process"
        login = http.get(f"{embedded['internal']}/login/", follow_redirects=True)
        assert login.status_code == 200 and "password" in login.text.lower()
        assert http.get(f"{embedded['http']}/admin/").status_code == 404  # not routed on the public port


def test_the_example_client_walks_a_whole_paid_session(embedded):
    done = subprocess.run([sys.executable, "examples/walkthrough.py", "--base-url", embedded["http"]],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{embedded['log'].read_text()[-3000:]}"
    for step in ("1. Sign in", "5. The client pays in the sandbox", "7. The client buys more time",
                 "extension applied", "9. The client leaves feedback", "Done:"):
        assert step in done.stdout, done.stdout
