"""One Firebase ID-token verifier, shared by the DRF authentication and the socket auth.

Emulator mode (FIREBASE_AUTH_EMULATOR_HOST set): firebase-admin accepts unsigned tokens and
skips `exp`, so we check expiry ourselves. Production: signed tokens and `check_revoked`.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field

import firebase_admin
from django.conf import settings
from firebase_admin import auth as fb_auth
from firebase_admin import credentials

CLOCK_SKEW_SECONDS = 30
_CACHE_SECONDS = 60
_CACHE_MAX = 20_000

_app_lock = threading.Lock()
_apps: dict[str, firebase_admin.App] = {}


class TokenError(Exception):
    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class FirebaseIdentity:
    uid: str
    provider: str
    expires_at: int
    phone: str = ""
    email: str = ""
    name: str = ""
    claims: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_anonymous(self) -> bool:
        return self.provider == "anonymous"


class _NoCredential(credentials.Base):
    """Emulator mode needs no Google credential; never used to call Google."""

    def get_credential(self):
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()


def emulator_mode() -> bool:
    return bool(settings.FIREBASE_AUTH_EMULATOR_HOST)


def _sync_emulator_env() -> None:
    """firebase-admin reads the emulator switch from the process environment, at verify
    time; keep it equal to the settings (which tests may switch per test)."""
    if emulator_mode():
        os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = settings.FIREBASE_AUTH_EMULATOR_HOST
    else:
        os.environ.pop("FIREBASE_AUTH_EMULATOR_HOST", None)


def get_app() -> firebase_admin.App:
    """The firebase-admin app for the current settings (push sending uses it too). The
    first one created is the default app; a later change of mode or credentials (tests
    switch emulator mode per test) gets its own named app, since an app's auth client keeps
    the credential and endpoints it was created with."""
    emulated = emulator_mode()
    key = "emulator" if emulated else f"live:{settings.FIREBASE_CREDENTIALS_FILE}"
    key = f"{key}:{settings.FIREBASE_PROJECT_ID}"
    with _app_lock:
        _sync_emulator_env()
        if key in _apps:
            return _apps[key]
        if emulated:
            cred = _NoCredential()
        elif settings.FIREBASE_CREDENTIALS_FILE:
            cred = credentials.Certificate(settings.FIREBASE_CREDENTIALS_FILE)
        else:
            cred = credentials.ApplicationDefault()
        options = {"projectId": settings.FIREBASE_PROJECT_ID}
        try:
            firebase_admin.get_app()
            app = firebase_admin.initialize_app(cred, options, name=f"halobestie:{key}")
        except ValueError:  # no default app yet
            app = firebase_admin.initialize_app(cred, options)
        _apps[key] = app
        return app


_cache: dict[str, tuple[float, FirebaseIdentity]] = {}
_cache_lock = threading.Lock()


def _from_claims(claims: dict) -> FirebaseIdentity:
    firebase = claims.get("firebase") or {}
    return FirebaseIdentity(
        uid=claims["uid"],
        provider=str(firebase.get("sign_in_provider") or ""),
        expires_at=int(claims.get("exp") or 0),
        phone=str(claims.get("phone_number") or ""),
        email=str(claims.get("email") or ""),
        name=str(claims.get("name") or ""),
        claims=claims,
    )


def verify_id_token(token: str) -> FirebaseIdentity:
    """Verify a Firebase ID token or raise TokenError('invalid_token', why)."""
    if not isinstance(token, str) or not token or len(token) > 8192:
        raise TokenError("invalid_token", "Malformed token.")
    key = hashlib.sha256(token.encode()).hexdigest()
    now = time.time()
    with _cache_lock:
        hit = _cache.get(key)
    if hit and hit[0] > now and hit[1].expires_at > now:
        return hit[1]

    emulated = emulator_mode()
    try:
        claims = fb_auth.verify_id_token(
            token, app=get_app(), check_revoked=not emulated, clock_skew_seconds=CLOCK_SKEW_SECONDS
        )
    except fb_auth.ExpiredIdTokenError:
        raise TokenError("invalid_token", "Token expired.") from None
    except fb_auth.RevokedIdTokenError:
        raise TokenError("invalid_token", "Token revoked.") from None
    except fb_auth.UserDisabledError:
        raise TokenError("invalid_token", "User disabled.") from None
    except (fb_auth.InvalidIdTokenError, ValueError) as exc:
        detail = "Wrong audience." if "aud" in str(exc) else "Invalid token."
        raise TokenError("invalid_token", detail) from None
    except fb_auth.CertificateFetchError:
        raise TokenError("invalid_token", "Could not verify the token now; retry.") from None

    # firebase-admin does not check time claims of emulator tokens: do it here for all.
    exp = claims.get("exp")
    iat = claims.get("iat")
    if not isinstance(exp, (int, float)) or exp + CLOCK_SKEW_SECONDS < now:
        raise TokenError("invalid_token", "Token expired.")
    if not isinstance(iat, (int, float)) or iat - CLOCK_SKEW_SECONDS > now:
        raise TokenError("invalid_token", "Token issued in the future.")

    identity = _from_claims(claims)
    with _cache_lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = (now + _CACHE_SECONDS, identity)
    return identity


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
