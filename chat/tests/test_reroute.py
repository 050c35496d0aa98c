"""Staff reroute a live session to another available mitra."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import AuditLog
from chat.models import Message, Session, SessionEvent
from chat.services.lifecycle import session_reroute
from halobestie.errors import ApplicationError
from halobestie.realtime import client_group, mitra_group
from halobestie.testing.events import EventProbe
from halobestie.testing.fixtures import (
    make_client,
    make_mitra,
    send_message,
    set_platform_settings,
    start_trial_session,
)
from pairing.models import MitraPresence

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("ops@halobestie.local", "ops@halobestie.local", "pw",
                                                is_staff=True)


def test_reroute_moves_the_session_and_tells_all_three(client_ani, mitra_budi, mitra_dina, staff,
                                                       django_capture_on_commit_callbacks):
    session = start_trial_session(client_ani, mitra_budi)
    sid = session["id"]
    send_message(client_ani, sid, "halo kak", "c1")
    send_message(mitra_budi, sid, "halo, aku Budi", "b1")
    ends_at = Session.objects.get(pk=sid).ends_at
    groups = [client_group(client_ani.id), mitra_group(mitra_budi.id), mitra_group(mitra_dina.id)]
    with EventProbe(*groups) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            session_reroute(session_id=sid, to_mitra=mitra_dina.user, actor=staff, reason="connection dropped")
        old = probe.wait_event("session.reassigned", group=mitra_group(mitra_budi.id))["data"]
        assert old == {"session_id": sid, "session": None}
        new = probe.wait_event("session.reassigned", group=mitra_group(mitra_dina.id))["data"]
        assert new["session_id"] == sid and new["session"]["mitra"]["id"] == str(mitra_dina.id)
        to_client = probe.wait_event("session.reassigned", group=client_group(client_ani.id))["data"]
        assert to_client["session"]["mitra"] == {"id": str(mitra_dina.id), "display_name": "Dina",
                                                 "photo_url": None}
        system = probe.wait_event("message.new", group=client_group(client_ani.id), sender="system")
        assert system["data"]["body"]
        probe.wait_event("message.new", group=mitra_group(mitra_dina.id), sender="system")
        probe.settle()
        # The old mitra hears nothing more about the session after the reassignment.
        assert not [f for f in probe.events(group=mitra_group(mitra_budi.id))
                    if f["type"] in ("message.new", "session.updated")]

    row = Session.objects.get(pk=sid)
    assert row.mitra_id == mitra_dina.id and row.state == "active"
    assert row.ends_at == ends_at  # the clock keeps running
    assert Message.objects.filter(session=row, system_code="session_rerouted").count() == 1
    event = SessionEvent.objects.get(session=row, kind="rerouted")
    assert event.data["from_mitra"] == str(mitra_budi.id) and event.data["to_mitra"] == str(mitra_dina.id)
    assert AuditLog.objects.filter(action="session.reroute", target_id=sid, actor=staff).exists()

    # The old mitra lost access: 404 everywhere, including writing.
    for path in (f"/api/mitra/sessions/{sid}", f"/api/mitra/sessions/{sid}/messages",
                 f"/api/mitra/sessions/{sid}/transcript"):
        r = mitra_budi.api.get(path)
        assert r.status_code == 404 and r.json()["code"] == "not_found", path
    r = mitra_budi.api.post(f"/api/mitra/sessions/{sid}/messages", {"client_message_id": "b2", "body": "masih?"},
                            format="json")
    assert r.status_code == 404
    assert mitra_budi.api.post(f"/api/mitra/sessions/{sid}/end").status_code == 404
    assert mitra_budi.api.get("/api/mitra/sessions?state=live").json()["results"] == []

    # The new mitra sees the whole history and takes over.
    bodies = [m["body"] for m in mitra_dina.api.get(f"/api/mitra/sessions/{sid}/messages").json()["results"]]
    assert "halo kak" in bodies and "halo, aku Budi" in bodies
    assert send_message(mitra_dina, sid, "aku Dina, lanjut ya", "d1")["sender"] == "mitra"
    assert [s["id"] for s in mitra_dina.api.get("/api/mitra/sessions?state=live").json()["results"]] == [sid]
    assert client_ani.api.get(f"/api/client/sessions/{sid}").json()["mitra"]["id"] == str(mitra_dina.id)


def test_reroute_checks_the_new_mitras_capacity(mitra_budi, mitra_dina, staff):
    set_platform_settings(max_customers_per_mitra=1)
    ani, citra = make_client("Ani"), make_client("Citra")
    session = start_trial_session(ani, mitra_budi)
    start_trial_session(citra, mitra_dina)
    with pytest.raises(ApplicationError) as exc:
        session_reroute(session_id=session["id"], to_mitra=mitra_dina.user, actor=staff)
    assert exc.value.code == "capacity_reached"
    assert Session.objects.get(pk=session["id"]).mitra_id == mitra_budi.id
    assert not AuditLog.objects.filter(action="session.reroute").exists()


def test_reroute_needs_an_available_mitra_and_a_live_session(client_ani, mitra_budi, staff):
    session = start_trial_session(client_ani, mitra_budi)
    offline = make_mitra("Off")
    stale = make_mitra("Stale", online=True)
    MitraPresence.objects.filter(mitra=stale.user).update(last_heartbeat_at=timezone.now() - timedelta(minutes=5))
    for target in (offline, stale):
        with pytest.raises(ApplicationError) as exc:
            session_reroute(session_id=session["id"], to_mitra=target.user, actor=staff)
        assert exc.value.code == "invalid_state"
    with pytest.raises(ApplicationError) as exc:
        session_reroute(session_id=session["id"], to_mitra=mitra_budi.user, actor=staff)
    assert exc.value.code == "conflict"
    client_ani.api.post(f"/api/client/sessions/{session['id']}/end")
    dina = make_mitra("Dina", online=True)
    with pytest.raises(ApplicationError) as exc:
        session_reroute(session_id=session["id"], to_mitra=dina.user, actor=staff)
    assert exc.value.code == "invalid_state"
    assert Session.objects.get(pk=session["id"]).mitra_id == mitra_budi.id
