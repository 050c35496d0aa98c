"""The backend clock, driven by the sweep: warnings, active → closing → closed, and every
transition exactly once (no double close, no close of an extended session)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import Message, Session, SessionClosure, SessionEvent
from chat.services.lifecycle import (
    session_begin_closing,
    session_close_after_goodbye,
    session_extend,
    session_send_warning,
    session_sweep_overdue,
)
from halobestie.realtime import client_group, mitra_group
from halobestie.testing.events import EventProbe
from halobestie.testing.fixtures import send_message, set_platform_settings, start_trial_session
from halobestie.timers import run_sweep

pytestmark = pytest.mark.django_db

DEADLINES = ("started_at", "ends_at", "closing_ends_at", "next_warning_at", "matched_at")


def travel(sid, seconds: float) -> Session:
    """Let `seconds` pass for this session: every stored moment moves that much earlier."""
    row = Session.objects.get(pk=sid)
    changes = {f: getattr(row, f) - timedelta(seconds=seconds) for f in DEADLINES if getattr(row, f)}
    Session.objects.filter(pk=sid).update(**changes)
    return Session.objects.get(pk=sid)


def until(sid, field: str, offset: float = 0) -> Session:
    """Travel so that now == session.<field> + offset."""
    row = Session.objects.get(pk=sid)
    return travel(sid, (timezone.now() - getattr(row, field)).total_seconds() * -1 + offset)


def system_codes(sid) -> list[str]:
    return list(Message.objects.filter(session_id=sid, sender="system").order_by("seq")
                .values_list("system_code", flat=True))


@pytest.fixture
def sid(client_ani, mitra_budi):
    return start_trial_session(client_ani, mitra_budi)["id"]


def test_ending_soon_warnings_once_at_each_offset(client_ani, mitra_budi, sid, django_capture_on_commit_callbacks):
    row = Session.objects.get(pk=sid)
    assert row.next_warning_at == row.ends_at - timedelta(seconds=300)
    groups = (client_group(client_ani.id), mitra_group(mitra_budi.id))
    with EventProbe(*groups) as probe:
        assert session_sweep_overdue() == 0
        until(sid, "ends_at", -301)
        assert session_sweep_overdue() == 0
        travel(sid, 2)  # 299 s left
        with django_capture_on_commit_callbacks(execute=True):
            assert session_sweep_overdue() == 1
            assert session_sweep_overdue() == 0
        for group in groups:
            data = probe.wait_event("session.ending_soon", group=group)["data"]
            assert data["session_id"] == sid
            assert data["ends_at"] == Session.objects.get(pk=sid).ends_at.isoformat()
            assert 290 <= data["seconds_left"] <= 300
        row = Session.objects.get(pk=sid)
        assert row.next_warning_at == row.ends_at - timedelta(seconds=60)
        until(sid, "ends_at", -59)
        with django_capture_on_commit_callbacks(execute=True):
            assert session_sweep_overdue() == 1
            assert session_sweep_overdue() == 0
            assert session_send_warning(session_id=sid) is False  # a late task finds nothing to do
        probe.settle()
        for group in groups:
            lefts = [f["data"]["seconds_left"] for f in probe.events("session.ending_soon", group=group)]
            assert len(lefts) == 2 and 50 <= lefts[1] <= 60
    assert Session.objects.get(pk=sid).next_warning_at is None
    assert Session.objects.get(pk=sid).state == "active"


def test_configured_offsets_drive_the_warnings(client_ani, mitra_budi):
    set_platform_settings(ending_soon_warnings="600,120,30")
    sid = start_trial_session(client_ani, mitra_budi)["id"]
    sent = 0
    for offset in (600, 120, 30):
        until(sid, "ends_at", -offset + 1)
        sent += session_sweep_overdue()
        assert session_sweep_overdue() == 0
    assert sent == 3


def test_a_late_sweep_sends_one_warning_not_a_burst(sid):
    until(sid, "ends_at", -10)  # both the 300 s and the 60 s moments have passed
    assert session_sweep_overdue() == 1
    assert Session.objects.get(pk=sid).next_warning_at is None
    assert session_sweep_overdue() == 0


def test_active_to_closing_to_closed(client_ani, mitra_budi, sid, django_capture_on_commit_callbacks):
    send_message(client_ani, sid, "makasih ya", "c1")
    groups = (client_group(client_ani.id), mitra_group(mitra_budi.id))
    with EventProbe(*groups) as probe:
        # Not before ends_at, not even by the task.
        until(sid, "ends_at", -1)
        session_sweep_overdue()  # (sends the warning that is due)
        assert session_begin_closing(session_id=sid) is False
        assert Session.objects.get(pk=sid).state == "active"

        row = until(sid, "ends_at", 1)
        with django_capture_on_commit_callbacks(execute=True):
            assert session_sweep_overdue() == 1
        row = Session.objects.get(pk=sid)
        assert row.state == "closing"
        assert row.closing_ends_at == row.ends_at + timedelta(seconds=120)
        assert row.next_warning_at is None
        for group in groups:
            updated = probe.wait_event("session.updated", group=group, state="closing")["data"]
            assert updated["closing_ends_at"] == row.closing_ends_at.isoformat() and updated["server_time"]
            probe.wait_event("message.new", group=group, sender="system")
        assert system_codes(sid)[-1] == "session_closing"

        # The goodbye window: both can still write.
        send_message(client_ani, sid, "dadah", "c2")
        send_message(mitra_budi, sid, "jaga diri ya", "b1")
        assert session_sweep_overdue() == 0
        assert session_begin_closing(session_id=sid) is False  # a duplicate task does nothing
        assert session_close_after_goodbye(session_id=sid) is False  # too early

        until(sid, "closing_ends_at", 1)
        with django_capture_on_commit_callbacks(execute=True):
            assert session_sweep_overdue() == 1
            assert session_sweep_overdue() == 0
            assert session_close_after_goodbye(session_id=sid) is False
        for group in groups:
            updated = probe.wait_event("session.updated", group=group, state="closed")["data"]
            assert updated["closure"]["closed_by"] == "system" and updated["closure"]["reason"] == "time_up"
            assert updated["can_end_early"] is False

    row = Session.objects.get(pk=sid)
    assert row.state == "closed" and row.closed_at is not None
    closure = SessionClosure.objects.get(session=row)
    assert (closure.closed_by, closure.reason) == ("system", "time_up")
    assert system_codes(sid) == ["session_active", "session_closing", "session_closed"]
    kinds = list(SessionEvent.objects.filter(session=row).values_list("kind", flat=True))
    assert kinds.count("closing") == 1 and kinds.count("closed") == 1
    r = client_ani.api.post(f"/api/client/sessions/{sid}/messages", {"client_message_id": "c3", "body": "hm"},
                            format="json")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    body = client_ani.api.get(f"/api/client/sessions/{sid}").json()
    assert body["state"] == "closed" and body["closure"]["reason"] == "time_up"


def test_one_late_sweep_does_both_transitions(sid):
    until(sid, "ends_at", 3600)
    run_sweep()
    row = Session.objects.get(pk=sid)
    assert row.state == "closed"
    assert SessionClosure.objects.filter(session=row).count() == 1
    assert system_codes(sid).count("session_closed") == 1


def test_an_extended_session_is_not_closed_by_the_old_deadline(client_ani, sid):
    until(sid, "ends_at", 1)
    session_sweep_overdue()
    closing = Session.objects.get(pk=sid)
    assert closing.state == "closing"
    old_closing_end = closing.closing_ends_at
    extended = session_extend(session_id=sid, minutes=15)
    assert extended.state == "active" and extended.closing_ends_at is None
    assert extended.ends_at > timezone.now() + timedelta(minutes=14)
    # The old goodbye deadline passes: the stale task and the sweep leave it alone.
    travel(sid, (timezone.now() - old_closing_end).total_seconds() + 5)
    assert session_close_after_goodbye(session_id=sid) is False
    assert session_begin_closing(session_id=sid) is False
    session_sweep_overdue()
    row = Session.objects.get(pk=sid)
    assert row.state == "active"
    assert not SessionClosure.objects.filter(session=row).exists()
    assert "session_extended" in system_codes(sid)
    assert row.next_warning_at is not None


def test_zero_goodbye_window(client_ani, mitra_budi):
    set_platform_settings(goodbye_window=0)
    sid = start_trial_session(client_ani, mitra_budi)["id"]
    until(sid, "ends_at", 1)
    session_sweep_overdue()
    assert Session.objects.get(pk=sid).state == "closed"


def test_unpaid_session_is_cancelled_at_payment_timeout_and_frees_the_mitra(client_ani, mitra_budi, session_tier):
    set_platform_settings(max_customers_per_mitra=1)
    r = client_ani.api.post("/api/client/pairing-requests", {"tier_id": str(session_tier.id)}, format="json")
    sid = mitra_budi.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept").json()["id"]
    assert mitra_budi.api.get("/api/mitra/presence").json()["live_sessions"] == 1
    row = Session.objects.get(pk=sid)
    assert session_sweep_overdue(now=row.payment_due_at - timedelta(seconds=1)) == 0
    Session.objects.filter(pk=sid).update(payment_due_at=timezone.now() - timedelta(seconds=1))
    assert session_sweep_overdue() >= 1
    row.refresh_from_db()
    assert row.state == "cancelled"
    closure = SessionClosure.objects.get(session=row)
    assert (closure.closed_by, closure.reason) == ("system", "payment_timeout")
    assert mitra_budi.api.get("/api/mitra/presence").json()["live_sessions"] == 0
    assert system_codes(sid)[-1] == "session_cancelled"
