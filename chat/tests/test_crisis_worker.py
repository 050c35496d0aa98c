"""The crisis check across processes, as production runs it: a client's message over the
socket of a real server (not eager), its check batched to a real Celery worker through Redis,
the session flagged by the worker, and the mitra's socket told — while an ordinary message
of another session in the same batch flags nothing."""

import asyncio
import time

import pytest
from django.conf import settings

from chat.models import CrisisCase, Session, SessionEvent
from halobestie.celery import app
from halobestie.testing.fixtures import make_client, make_mitra, start_trial_session
from halobestie.testing.live import CeleryWorker, LiveServer, WsClient

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_crisis_message_is_flagged_by_the_worker_and_the_mitra_is_told(tmp_path):
    ani, citra, budi = make_client("Ani"), make_client("Citra"), make_mitra("Budi", online=True)
    crisis_sid = start_trial_session(ani, budi)["id"]
    calm_sid = start_trial_session(citra, budi)["id"]
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-crisis"
    worker = CeleryWorker(queue, name=f"crisis-{queue}", workdir=tmp_path)
    server = LiveServer(env={"CELERY_TASK_ALWAYS_EAGER": "False", "CELERY_QUEUE": queue})
    try:
        worker.start(app)
        server.start()

        async def scenario():
            mitra = await WsClient(f"{server.ws_url}/ws/mitra/", budi.token).connect()
            phone = await WsClient(f"{server.ws_url}/ws/client/", ani.token).connect()
            other = await WsClient(f"{server.ws_url}/ws/client/", citra.token).connect()
            sends = await asyncio.gather(
                phone.request("message.send", {"session_id": crisis_sid, "client_message_id": "c1",
                                                "body": "aku udah ga kuat lagi, aku mau bunuh diri malam ini"}),
                other.request("message.send", {"session_id": calm_sid, "client_message_id": "c1",
                                                "body": "kak makasih ya udah dengerin aku hari ini"}))
            assert [s["type"] for s in sends] == ["ack", "ack"]
            flagged = await mitra.wait_event("session.risk_flagged", timeout=30, session_id=crisis_sid)
            # The crisis resources are posted to the session once, by the worker.
            await phone.wait_event("message.new", timeout=15, sender="system")
            return flagged["data"]

        flagged = asyncio.run(scenario())
        assert flagged["risk_level"] == "high" and "suicide" in flagged["categories"]
        assert Session.objects.get(id=crisis_sid).risk_level == "high"
        assert CrisisCase.objects.filter(session_id=crisis_sid).count() == 1
        time.sleep(1)  # the calm message went in the same or the next batch: nothing follows it
        assert Session.objects.get(id=calm_sid).risk_level == ""
        assert not SessionEvent.objects.filter(session_id=calm_sid, kind="risk_flagged").exists()
    finally:
        server.stop()
        worker.stop()
