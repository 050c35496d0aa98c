"""The web client's response headers: a strict Content Security Policy and no traces.

Development and tests (the dev sign-in): every script, style, image and connection is our
own origin. Production (the Firebase Web SDK): Firebase Auth itself must reach Google's
sign-in endpoints, the popup's auth domain and reCAPTCHA for phone OTP; those hosts, and
only those, are added. No CDN either way: the SDK is vendored and served by us.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

FIREBASE_CONNECT = ("https://identitytoolkit.googleapis.com", "https://securetoken.googleapis.com")
FIREBASE_SCRIPT = ("https://apis.google.com", "https://www.google.com/recaptcha/",
                   "https://www.gstatic.com/recaptcha/")
FIREBASE_FRAME = ("https://www.google.com/recaptcha/", "https://recaptcha.google.com/recaptcha/")


def _ws_origin(request: HttpRequest) -> str:
    scheme = "wss" if request.is_secure() else "ws"
    return f"{scheme}://{request.get_host()}"


def content_security_policy(request: HttpRequest) -> str:
    script, connect, frame = ["'self'"], ["'self'", _ws_origin(request)], ["'none'"]
    if not settings.WEBCHAT_DEV_SIGN_IN:
        script += FIREBASE_SCRIPT
        connect += FIREBASE_CONNECT
        frame = [f"https://{settings.WEBCHAT_FIREBASE['authDomain']}", *FIREBASE_FRAME]
    directives = {
        "default-src": ["'none'"],
        "script-src": script,
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": connect,
        "manifest-src": ["'self'"],
        "frame-src": frame,
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def discreet(request: HttpRequest, response: HttpResponse, *, clear_site_data: bool = False) -> HttpResponse:
    response["Content-Security-Policy"] = content_security_policy(request)
    # Never on disk, never in the back/forward cache, never in a referrer or a search index.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    response["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups"
    if clear_site_data:
        response["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response
