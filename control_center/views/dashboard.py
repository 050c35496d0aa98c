"""The live dashboard: the page, and the fragment it polls every few seconds."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.selectors import platform_settings

from .. import selectors
from .base import VIEW, staff_permission

POLL_SECONDS = 5


def _context() -> dict:
    return {
        "figures": selectors.dashboard_figures(),
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
