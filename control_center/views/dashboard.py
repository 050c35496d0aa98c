"""The live dashboard: the page, and the fragment it polls every few seconds."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.selectors import platform_settings

from .. import selectors, selectors_crisis
from .base import VIEW, staff_permission

POLL_SECONDS = 5
ALERT_REPEAT_SECONDS = 4      # an unacknowledged case beeps this often until someone acknowledges


def _context() -> dict:
    cases = list(selectors_crisis.open_cases())
    by_session = selectors_crisis.cases_by_session(cases)
    figures = selectors.dashboard_figures()
    # A flagged live session whose case was handled (or that predates cases) still shows.
    uncased = [s for s in figures.flagged_sessions if s.id not in by_session]
    return {
        "open_cases": cases,
        "uncased_flagged": uncased,
        "unacked": sum(c.state == "new" for c in cases),
        "has_high": any(c.level == "high" for c in cases) or any(s.risk_level == "high" for s in uncased),
        "cases_by_session": by_session,
        "alert_repeat_seconds": ALERT_REPEAT_SECONDS,
        "figures": figures,
        "needs_attention": selectors.needs_attention_count(),
        "open_reports": selectors.open_reports_count(),
        "poll_seconds": POLL_SECONDS,
        "max_per_mitra": platform_settings().max_customers_per_mitra,
    }


@staff_permission(VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "control_center/dashboard.html", _context())


@staff_permission(VIEW)
def dashboard_live(request: HttpRequest) -> HttpResponse:
    return render(request, "control_center/_dashboard_live.html", _context())
