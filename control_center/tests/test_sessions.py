"""Sessions: filtered list, detail with timeline, reroute, force close, transcript."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditLog
from chat.models import Message, Session, SessionClosure, SessionEvent
from chat.services.messages import message_send
from control_center import selectors
from halobestie.testing.fixtures import make_client, make_mitra

from .factories import flag, live_session

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]


def _ids(response) -> set[str]:
    """The session ids linked from a page."""
    import re

    return set(re.findall(r'href="/sessions/([0-9a-f-]{36})/"', response.content.decode()))


def test_list_filters(cc):
    budi = make_mitra("Budi", online=True).user
    ani = make_client("Ani").user
    mine = live_session(client=ani, mitra=budi)
    flagged = flag(live_session())
    closed = live_session()
    Session.objects.filter(pk=closed.pk).update(state="closed")
    old = live_session()
    Session.objects.filter(pk=old.pk).update(state="closed", created_at=timezone.now() - timedelta(days=3))

    assert _ids(cc.get("/sessions/")) == {str(s.id) for s in (mine, flagged, closed, old)}
    assert _ids(cc.get("/sessions/", {"state": "live"})) == {str(mine.id), str(flagged.id)}
    assert _ids(cc.get("/sessions/", {"state": "closed"})) == {str(closed.id), str(old.id)}
    assert _ids(cc.get("/sessions/", {"mitra": "budi"})) == {str(mine.id)}
    assert _ids(cc.get("/sessions/", {"mitra": str(budi.id)})) == {str(mine.id)}
    assert _ids(cc.get("/sessions/", {"client": "ani"})) == {str(mine.id)}
    assert _ids(cc.get("/sessions/", {"flagged": "on"})) == {str(flagged.id)}
    day = selectors.today_start().date() - timedelta(days=3)
    assert _ids(cc.get("/sessions/", {"day": day.isoformat()})) == {str(old.id)}


def test_list_queries_do_not_grow_with_rows(cc):
    live_session()
    with CaptureQueriesContext(connection) as few:
        cc.get("/sessions/")
    for _ in range(6):
        s = live_session()
        Session.objects.filter(pk=s.pk).update(state="closed")
        SessionClosure.objects.create(session=s, closed_by="system", reason="time_up", closed_at=timezone.now())
    with CaptureQueriesContext(connection) as many:
        cc.get("/sessions/")
    assert len(many) == len(few)


def test_detail_shows_timeline_and_transactions(cc, session_tier):
    session = live_session(tier=session_tier)
    r = cc.get(f"/sessions/{session.id}/")
    html = r.content.decode()
    assert r.status_code == 200
    assert 'data-testid="session-state">awaiting_payment<' in html
    assert "<strong>matched</strong>" in html
    assert "Rp 50.000" in html
    assert 'data-testid="reroute-form"' in html
    assert cc.get(f"/sessions/{uuid.uuid4()}/").status_code == 404


def test_reroute_to_an_available_mitra(cc, operator):
    budi = make_mitra("Budi", online=True).user
    session = live_session(mitra=budi)
    dina = make_mitra("Dina", online=True).user
    offline = make_mitra("Offline").user
    page = cc.get(f"/sessions/{session.id}/").content.decode()
    assert f'value="{dina.id}"' in page
    assert f'value="{budi.id}"' not in page  # not to the current mitra
    assert f'value="{offline.id}"' not in page  # only available mitras

    r = cc.post(f"/sessions/{session.id}/reroute/", {"to_mitra": str(offline.id)})
    assert r.status_code == 400
    session.refresh_from_db()
    assert session.mitra_id == budi.id

    r = cc.post(f"/sessions/{session.id}/reroute/", {"to_mitra": str(dina.id)})
    assert r.status_code == 302
    session.refresh_from_db()
    assert session.mitra_id == dina.id
    event = SessionEvent.objects.get(session=session, kind="rerouted")
    assert event.data["from_mitra"] == str(budi.id) and event.data["to_mitra"] == str(dina.id)
    row = AuditLog.objects.get(action="session.reroute")
    assert row.actor == operator and row.target_id == str(session.id)
    assert Message.objects.filter(session=session, system_code="session_rerouted").exists()


def test_force_close(cc_supervisor, supervisor):
    session = live_session()
    r = cc_supervisor.post(f"/sessions/{session.id}/force-close/", {"note": ""})
    assert r.status_code == 400 and b"field has-error" in r.content
    r = cc_supervisor.post(f"/sessions/{session.id}/force-close/", {"note": "Client asked for help by email"})
    assert r.status_code == 302
    session.refresh_from_db()
    assert session.state == "closed"
    closure = SessionClosure.objects.get(session=session)
    assert (closure.closed_by, closure.reason, closure.note) == ("staff", "staff", "Client asked for help by email")
    assert AuditLog.objects.filter(action="session.force_close", actor=supervisor, target_id=str(session.id)).exists()
    page = cc_supervisor.get(f"/sessions/{session.id}/").content.decode()
    assert 'data-testid="closure"' in page and "reroute-form" not in page
    # Closing twice is refused with the service's message.
    r = cc_supervisor.post(f"/sessions/{session.id}/force-close/", {"note": "again"})
    assert r.status_code == 400 and b"already closed" in r.content


def test_transcript_without_permission_is_403_and_recorded(cc, operator):
    session = live_session()
    r = cc.get(f"/sessions/{session.id}/transcript/")
    assert r.status_code == 403
    assert b"Not allowed" in r.content
    assert not AuditLog.objects.filter(action="transcript.view").exists()
    assert AuditLog.objects.filter(action="transcript.denied", actor=operator, target_id=str(session.id)).exists()
    assert b"transcript-link" not in cc.get(f"/sessions/{session.id}/").content


def test_every_transcript_view_is_audited(cc_supervisor, supervisor):
    session = live_session()
    message_send(session_id=session.id, sender=session.client, client_message_id="m1", body="aku capek banget")
    for expected in (1, 2):
        r = cc_supervisor.get(f"/sessions/{session.id}/transcript/")
        assert r.status_code == 200
        assert "aku capek banget" in r.content.decode()
        rows = AuditLog.objects.filter(action="transcript.view", target_type="session", target_id=str(session.id))
        assert rows.count() == expected
        assert rows.first().actor == supervisor


def test_transcript_is_audited_before_it_renders(cc_supervisor, monkeypatch):
    """If rendering fails, the view is still on record."""
    from control_center.views import transcripts

    session = live_session()

    def broken_render(*args, **kwargs):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(transcripts, "render", broken_render)
    cc_supervisor.raise_request_exception = False
    r = cc_supervisor.get(f"/sessions/{session.id}/transcript/")
    assert r.status_code == 500
    assert AuditLog.objects.filter(action="transcript.view", target_id=str(session.id)).count() == 1
