"""TOTP (RFC 6238, HMAC-SHA1, 30 s steps, 6 digits): what every authenticator app speaks.

Staff can enrol a secret (`enrolment.py`: it asks for the password again). Once enrolled,
their login asks for a code (or a recovery code), and transcript pages require a session
that passed that check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import transaction

from accounts.services import audit_record

from ..models import StaffTOTP
from . import recovery

STEP_SECONDS = 30
DIGITS = 6
# Accept the previous and next step too: phones' clocks drift.
DRIFT_STEPS = 1
ISSUER = "Halo Bestie Control Center"
SESSION_FLAG = "cc_totp_verified"


def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    return base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))


def hotp(secret: str, counter: int) -> str:
    """RFC 4226 HOTP with dynamic truncation."""
    digest = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10**DIGITS).zfill(DIGITS)


def current_step(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // STEP_SECONDS)


def totp(secret: str, at: float | None = None) -> str:
    return hotp(secret, current_step(at))


def matching_step(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step this code belongs to (within the allowed drift), or None."""
    code = "".join((code or "").split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = current_step(at)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(hotp(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, account: str) -> str:
    label = quote(f"{ISSUER}:{account}")
    return f"otpauth://totp/{label}?" + urlencode({"secret": secret, "issuer": ISSUER})


def enrolled_totp(user) -> StaffTOTP | None:
    row = StaffTOTP.objects.filter(user=user).first()
    return row if row and row.is_enrolled else None


def totp_verify(*, user, code: str) -> bool:
    """Check a code for an enrolled user; each step is usable once (no replay)."""
    with transaction.atomic():
        row = StaffTOTP.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
        if row is None:
            return False
        step = matching_step(row.secret, code)
        if step is None or step <= row.last_used_step:
            return False
        row.last_used_step = step
        row.save(update_fields=["last_used_step"])
    return True


def second_factor_verify(*, user, code: str, ip: str | None = None) -> str | None:
    """A login's (or a step-up's) second factor: a current TOTP code, or one of the user's
    recovery codes (spent, and audited with how many are left). Returns "totp",
    "recovery" or None."""
    if recovery.looks_like_recovery_code(code):
        if not recovery.recovery_code_use(user=user, code=code):
            return None
        audit_record(
            actor=user,
            action="staff.recovery_code_used",
            target=user,
            target_type="user",
            after={"left": recovery.recovery_codes_left(user)},
            ip=ip,
        )
        return "recovery"
    return "totp" if totp_verify(user=user, code=code) else None


def session_is_verified(request) -> bool:
    return bool(request.session.get(SESSION_FLAG))


def mark_session_verified(request) -> None:
    request.session[SESSION_FLAG] = True


def transcript_needs_totp(request) -> bool:
    """True when this staff session must pass a TOTP check before reading a transcript."""
    if session_is_verified(request):
        return False
    if enrolled_totp(request.user) is not None:
        return True
    # Production can require enrolment for everyone who reads transcripts.
    return bool(getattr(settings, "STAFF_TRANSCRIPT_REQUIRES_TOTP", False))
