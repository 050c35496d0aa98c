"""Crisis signals on the live path: flag, mitra guidance over the socket, client resources."""

import asyncio

import pytest

from chat.models import Message, Session, SessionEvent
from halobestie.testing.fixtures import make_client, make_mitra
from halobestie.testing.live import WsClient


def _trial(client, mitra) -> Session:
    r = client.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json")
    r = mitra.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept")
    return Session.objects.get(pk=r.json()["id"])


@pytest.mark.django_db
def test_a_crisis_message_flags_the_session_once_without_copying_text(client_ani, mitra_budi,
                                                                      django_capture_on_commit_callbacks):
    session = _trial(client_ani, mitra_budi)
    body = "aku udah ga kuat lagi, pengen bunuh diri aja"
    with django_capture_on_commit_callbacks(execute=True):
        r = client_ani.api.post(f"/api/client/sessions/{session.id}/messages",
                                {"client_message_id": "c1", "body": body}, format="json")
    assert r.status_code == 201
    session.refresh_from_db()
    assert session.risk_level == "high" and session.first_flagged_at is not None
    event = SessionEvent.objects.get(session=session, kind="risk_flagged")
    assert event.data["level"] == "high" and "suicide" in event.data["categories"]
    assert body not in str(event.data)
    resources = Message.objects.filter(session=session, system_code="crisis_resources")
    assert resources.count() == 1 and "112" in resources.get().body
    # A second crisis message at the same level does not flag or post again.
    with django_capture_on_commit_callbacks(execute=True):
        client_ani.api.post(f"/api/client/sessions/{session.id}/messages",
                            {"client_message_id": "c2", "body": "pengen mati"}, format="json")
    assert SessionEvent.objects.filter(session=session, kind="risk_flagged").count() == 1
    assert resources.count() == 1


@pytest.mark.django_db
def test_ordinary_messages_and_mitra_messages_do_not_flag(client_ani, mitra_budi, django_capture_on_commit_callbacks):
    session = _trial(client_ani, mitra_budi)
    with django_capture_on_commit_callbacks(execute=True):
        client_ani.api.post(f"/api/client/sessions/{session.id}/messages",
                            {"client_message_id": "c1", "body": "hari ini mati lampu, bosen banget"}, format="json")
        mitra_budi.api.post(f"/api/mitra/sessions/{session.id}/messages",
                            {"client_message_id": "m1", "body": "apakah kamu pernah berpikir bunuh diri?"},
                            format="json")
    session.refresh_from_db()
    assert session.risk_level == ""


@pytest.mark.django_db(transaction=True)
def test_mitra_socket_gets_risk_flagged_with_guidance(live_public):
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    session = _trial(ani, budi)

    async def scenario():
        mitra_ws = await WsClient(f"{live_public.ws_url}/ws/mitra/", budi.token).connect()
        client_ws = await WsClient(f"{live_public.ws_url}/ws/client/", ani.token).connect()
        ack = await client_ws.request("message.send", {"session_id": str(session.id), "client_message_id": "x",
                                                       "body": "gue pengen mati aja"})
        assert ack["type"] == "ack"
        flagged = await mitra_ws.wait_event("session.risk_flagged", session_id=str(session.id))
        assert flagged["data"]["risk_level"] in ("medium", "high") and flagged["data"]["guidance"]
        assert "pengen mati" not in str(flagged["data"])
        resources = await client_ws.wait_for(
            lambda f: f["type"] == "message.new" and f["data"]["sender"] == "system" and "112" in f["data"]["body"])
        assert resources
        await mitra_ws.close()
        await client_ws.close()

    asyncio.run(scenario())
