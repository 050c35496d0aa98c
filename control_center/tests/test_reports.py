"""Client reports: the queue and moving a report through review to resolved (audited)."""

from __future__ import annotations

import pytest

from accounts.models import AuditLog
from chat.models import SessionReport
from chat.services.care import session_report

from .factories import live_session

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]


def _report(reason="unprofessional", note="Mitra left mid-session"):
    session = live_session()
    return session_report(client=session.client, session_id=session.id, reason=reason, note=note)


def test_queue_shows_open_reports_with_links(cc, cc_supervisor):
    report = _report(reason="safety")
    html = cc.get("/reports/").content.decode()
    assert "Mitra left mid-session" in html and "Safety concern" in html
    assert f"/sessions/{report.session_id}/" in html
    assert f"/sessions/{report.session_id}/transcript/" not in html  # operator: no transcript link
    assert f"/sessions/{report.session_id}/transcript/" in cc_supervisor.get("/reports/").content.decode()
    assert 'data-figure="open_reports">1<' in cc.get("/").content.decode()


def test_review_then_resolve(cc, operator):
    report = _report()
    r = cc.post(f"/reports/{report.id}/", {"status": "in_review", "resolution_note": ""})
    assert r.status_code == 302
    report.refresh_from_db()
    assert report.status == "in_review" and report.resolved_by is None
    r = cc.post(f"/reports/{report.id}/", {"status": "resolved", "resolution_note": "Spoke with the mitra"})
    report.refresh_from_db()
    assert (report.status, report.resolution_note, report.resolved_by) == ("resolved", "Spoke with the mitra", operator)
    rows = AuditLog.objects.filter(action="report.update", target_id=str(report.id)).order_by("id")
    assert [row.after["status"] for row in rows] == ["in_review", "resolved"]
    # Resolved reports leave the default queue but stay findable.
    assert "Mitra left mid-session" not in cc.get("/reports/").content.decode()
    assert "Mitra left mid-session" in cc.get("/reports/", {"status": "resolved"}).content.decode()


def test_bad_status_changes_nothing(cc):
    report = _report()
    r = cc.post(f"/reports/{report.id}/", {"status": "deleted"}, follow=True)
    assert b"Choose a status." in r.content
    report.refresh_from_db()
    assert report.status == SessionReport.Status.OPEN
    assert cc.get(f"/reports/{report.id}/").status_code == 405


def test_queue_queries_do_not_grow_with_rows(cc):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _report()
    with CaptureQueriesContext(connection) as few:
        cc.get("/reports/")
    for _ in range(6):
        _report()
    with CaptureQueriesContext(connection) as many:
        cc.get("/reports/")
    assert len(many) == len(few)
