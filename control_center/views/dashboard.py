"""The live dashboard: the page, and the fragment it polls every few seconds."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .. import selectors
from .base import staff_required

POLL_SECONDS = 5


def _context() -> dict:
    return {"figures": selectors.dashboard_figures(), "needs_attention": selectors.needs_attention_count(),
            "poll_seconds": POLL_SECONDS}


@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "control_center/dashboard.html", _context())


@staff_required
def dashboard_live(request: HttpRequest) -> HttpResponse:
    return render(request, "control_center/_dashboard_live.html", _context())
