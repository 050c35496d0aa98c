"""Ending a session early (each side gated by its toggle), closures, and feedback."""

import pytest

from chat.models import Feedback, Message, Session, SessionClosure
from chat.services.lifecycle import session_sweep_overdue
from halobestie.realtime import client_group, mitra_group
from halobestie.testing.events import EventProbe
from halobestie.testing.fixtures import make_client, make_mitra, set_platform_settings, start_trial_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def sid(client_ani, mitra_budi):
    return start_trial_session(client_ani, mitra_budi)["id"]


@pytest.mark.parametrize("who", ["client", "mitra"])
def test_either_side_can_end_early(request, who, sid, client_ani, mitra_budi, django_capture_on_commit_callbacks):
    actor = client_ani if who == "client" else mitra_budi
    with EventProbe(client_group(client_ani.id), mitra_group(mitra_budi.id)) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            r = actor.api.post(f"/api/{who}/sessions/{sid}/end", {"reason": "sudah lega"}, format="json")
        assert r.status_code == 200, r.content
        for group in (client_group(client_ani.id), mitra_group(mitra_budi.id)):
            updated = probe.wait_event("session.updated", group=group, state="closed")["data"]
            assert updated["closure"]["closed_by"] == who
    body = r.json()
    assert body["state"] == "closed" and body["closed_at"]
    assert body["closure"] == {"closed_by": who, "reason": "early_end", "closed_at": body["closed_at"]}
    assert body["can_end_early"] is False
    row = Session.objects.get(pk=sid)
    assert row.state == "closed" and row.closed_at is not None
    closure = SessionClosure.objects.get(session=row)
    assert (closure.closed_by, closure.reason, closure.note) == (who, "early_end", "sudah lega")
    last = Message.objects.filter(session=row).order_by("seq").last()
    assert last.sender == "system" and last.system_code == f"session_ended_by_{who}"
    # Twice is refused; the clock finds nothing to do.
    r = actor.api.post(f"/api/{who}/sessions/{sid}/end")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    assert session_sweep_overdue() == 0
    assert SessionClosure.objects.filter(session=row).count() == 1


@pytest.mark.parametrize("who", ["client", "mitra"])
def test_early_end_toggle(who, sid, client_ani, mitra_budi):
    set_platform_settings(**{f"{who}_can_end_early": False})
    actor, other = (client_ani, mitra_budi) if who == "client" else (mitra_budi, client_ani)
    other_role = "mitra" if who == "client" else "client"
    assert actor.api.get(f"/api/{who}/sessions/{sid}").json()["can_end_early"] is False
    assert other.api.get(f"/api/{other_role}/sessions/{sid}").json()["can_end_early"] is True
    r = actor.api.post(f"/api/{who}/sessions/{sid}/end")
    assert r.status_code == 403 and r.json()["code"] == "early_end_not_allowed"
    row = Session.objects.get(pk=sid)
    assert row.state == "active" and not SessionClosure.objects.filter(session=row).exists()
    # The other side's toggle is separate.
    assert other.api.post(f"/api/{other_role}/sessions/{sid}/end").status_code == 200


def test_ending_during_the_goodbye_window(client_ani, sid):
    from datetime import timedelta

    from django.utils import timezone

    Session.objects.filter(pk=sid).update(ends_at=timezone.now() - timedelta(seconds=1))
    session_sweep_overdue()
    assert Session.objects.get(pk=sid).state == "closing"
    r = client_ani.api.post(f"/api/client/sessions/{sid}/end")
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert SessionClosure.objects.get(session_id=sid).reason == "early_end"
    session_sweep_overdue()
    assert SessionClosure.objects.filter(session_id=sid).count() == 1


def test_end_body_validation_and_outsiders(sid):
    citra = make_client("Citra")
    r = citra.api.post(f"/api/client/sessions/{sid}/end")
    assert r.status_code == 404
    eko = make_mitra("Eko")
    assert eko.api.post(f"/api/mitra/sessions/{sid}/end").status_code == 404
    assert Session.objects.get(pk=sid).state == "active"


def test_client_walks_away_from_an_unpaid_session(client_ani, mitra_budi, session_tier):
    r = client_ani.api.post("/api/client/pairing-requests", {"tier_id": str(session_tier.id)}, format="json")
    sid = mitra_budi.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept").json()["id"]
    r = mitra_budi.api.post(f"/api/mitra/sessions/{sid}/end")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    r = client_ani.api.post(f"/api/client/sessions/{sid}/end")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert SessionClosure.objects.get(session_id=sid).closed_by == "client"


def test_feedback_once_after_closed(client_ani, mitra_budi, sid):
    path = f"/api/client/sessions/{sid}/feedback"
    r = client_ani.api.post(path, {"rating": 5, "comment": "makasih"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    assert not Feedback.objects.exists()
    client_ani.api.post(f"/api/client/sessions/{sid}/end")
    for bad in ({"rating": 0}, {"rating": 6}, {}, {"rating": "lima"}, {"rating": 4, "comment": "x" * 1001}):
        r = client_ani.api.post(path, bad, format="json")
        assert r.status_code == 400 and r.json()["code"] == "validation_error", bad
    r = client_ani.api.post(path, {"rating": 4, "comment": "  membantu sekali  "}, format="json")
    assert r.status_code == 201, r.content
    assert r.json() == {**r.json(), "rating": 4, "comment": "membantu sekali"}
    fb = Feedback.objects.get(session_id=sid)
    assert (fb.rating, fb.comment, fb.mitra_id) == (4, "membantu sekali", mitra_budi.id)
    r = client_ani.api.post(path, {"rating": 1}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert Feedback.objects.get(session_id=sid).rating == 4
    # Not the client's session: 404. The mitra has no feedback endpoint.
    assert make_client("Citra").api.post(path, {"rating": 5}, format="json").status_code == 404
    assert mitra_budi.api.post(f"/api/mitra/sessions/{sid}/feedback", {"rating": 5},
                               format="json").status_code in (403, 404)


def test_staff_force_close(client_ani, mitra_budi, sid):
    from django.contrib.auth import get_user_model

    from accounts.models import AuditLog
    from chat.services.lifecycle import session_force_close
    from halobestie.errors import ApplicationError

    staff = get_user_model().objects.create_user("sup@halobestie.local", "sup@halobestie.local", "pw", is_staff=True)
    session = session_force_close(session_id=sid, actor=staff, reason="staff", note="laporan klien")
    assert session.state == "closed"
    closure = SessionClosure.objects.get(session_id=sid)
    assert (closure.closed_by, closure.reason, closure.note) == ("staff", "staff", "laporan klien")
    assert Message.objects.filter(session_id=sid).order_by("seq").last().system_code == "session_closed_by_staff"
    assert AuditLog.objects.filter(action="session.force_close", target_id=sid, actor=staff).exists()
    body = client_ani.api.get(f"/api/client/sessions/{sid}").json()
    assert body["closure"] == {"closed_by": "staff", "reason": "staff", "closed_at": body["closed_at"]}
    with pytest.raises(ApplicationError) as exc:
        session_force_close(session_id=sid, actor=staff)
    assert exc.value.code == "invalid_state"
    assert SessionClosure.objects.filter(session_id=sid).count() == 1
