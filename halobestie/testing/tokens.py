"""Mint Firebase ID tokens the way the Auth Emulator does (unsigned, alg "none").

Only accepted when FIREBASE_AUTH_EMULATOR_HOST is set. Used by tests, the benchmark and
`manage.py mint_token`.
"""

from __future__ import annotations

import base64
import json
import time
import uuid


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def mint_id_token(
    uid: str | None = None,
    *,
    provider: str = "anonymous",
    phone: str | None = None,
    email: str | None = None,
    name: str | None = None,
    project_id: str | None = None,
    lifetime: int = 3600,
    issued_at: float | None = None,
    audience: str | None = None,
    signed: bool = False,
    extra: dict | None = None,
    header: dict | None = None,
) -> str:
    if project_id is None:
        from django.conf import settings

        project_id = settings.FIREBASE_PROJECT_ID
    uid = uid or uuid.uuid4().hex[:28]
    now = int(issued_at if issued_at is not None else time.time())
    identities: dict = {}
    if phone:
        identities["phone"] = [phone]
    if email:
        identities["email"] = [email]
    payload = {
        "iss": f"https://securetoken.google.com/{project_id}",
        "aud": audience or project_id,
        "auth_time": now,
        "user_id": uid,
        "sub": uid,
        "iat": now,
        "exp": now + lifetime,
        "firebase": {"identities": identities, "sign_in_provider": provider},
    }
    if phone:
        payload["phone_number"] = phone
    if email:
        payload["email"] = email
    if name:
        payload["name"] = name
    if extra:
        payload.update(extra)
    if header is None:
        header = {"alg": "RS256", "kid": "fake", "typ": "JWT"} if signed else {"alg": "none", "typ": "JWT"}
    signature = base64.urlsafe_b64encode(b"not-a-signature").rstrip(b"=").decode() if signed else ""
    return f"{_b64(header)}.{_b64(payload)}.{signature}"
