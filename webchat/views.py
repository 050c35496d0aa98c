"""Three plain pages; everything else happens in the browser against the public API."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .assets import preload_paths
from .security import discreet

# A neutral title and icon: what a glance at a shared phone's tabs would show.
NEUTRAL_TITLE = "Catatan Harian"


def page_config(role: str) -> str:
    """What the scripts need, as JSON in a <meta> tag (no inline script under our CSP)."""
    config = {
        "role": role,
        "auth": "dev" if settings.WEBCHAT_DEV_SIGN_IN else "firebase",
        "exit_url": "/bacaan/merawat-tanaman/",
    }
    if settings.WEBCHAT_DEV_SIGN_IN:
        config["project_id"] = settings.FIREBASE_PROJECT_ID
    else:
        config["firebase"] = settings.WEBCHAT_FIREBASE
    return json.dumps(config, separators=(",", ":"))


def _app_page(request: HttpRequest, role: str) -> HttpResponse:
    auth = "dev" if settings.WEBCHAT_DEV_SIGN_IN else "firebase"
    context = {"title": NEUTRAL_TITLE, "config": page_config(role), "role": role,
               "dev_sign_in": settings.WEBCHAT_DEV_SIGN_IN, "preload": preload_paths(role, auth)}
    return discreet(request, render(request, f"webchat/{role}.html", context))


@require_GET
def client_page(request: HttpRequest) -> HttpResponse:
    return _app_page(request, "client")


@require_GET
def mitra_page(request: HttpRequest) -> HttpResponse:
    return _app_page(request, "mitra")


@require_GET
def neutral_page(request: HttpRequest) -> HttpResponse:
    return discreet(request, render(request, "webchat/neutral.html"), clear_site_data=True)
