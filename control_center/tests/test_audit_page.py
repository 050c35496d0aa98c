"""The audit log page: newest first, paged, filtered by action, target and actor."""

from __future__ import annotations

import pytest

from accounts.models import AuditLog
from accounts.services import audit_record

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]


def test_filters_and_paging(cc_supervisor, operator, supervisor):
    for n in range(55):
        audit_record(actor=operator, action="mitra.update", target_type="mitra", target_id=f"m{n}")
    audit_record(actor=supervisor, action="transcript.view", target_type="session", target_id="s1")
    html = cc_supervisor.get("/audit/").content.decode()
    assert "Page 1 of 2" in html and "56 in all" in html
    rows = html[html.index("<tbody>") :]
    assert rows.index("transcript.view") < rows.index("mitra.update")  # newest first
    assert "Page 2 of 2" in cc_supervisor.get("/audit/", {"page": 2}).content.decode()

    html = cc_supervisor.get("/audit/", {"action": "transcript.view"}).content.decode()
    assert "1 in all" in html and "session:s1" in html
    html = cc_supervisor.get("/audit/", {"target": "mitra:m7"}).content.decode()
    assert "1 in all" in html and "mitra:m7" in html
    html = cc_supervisor.get("/audit/", {"actor": supervisor.email}).content.decode()
    assert "1 in all" in html
    assert AuditLog.objects.count() == 56
