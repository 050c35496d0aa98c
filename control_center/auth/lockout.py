"""Login rate limits and account lockout for staff.

- An email is **locked** after `LOCK_AFTER_FAILURES` failed logins within `LOCK_SECONDS`
  (from any IP), for `LOCK_SECONDS` after the last one. Counted in the database, so every
  internal process agrees; a correct password does not open a locked account.
- Attempts are **rate-limited** per IP+email and per IP (cache counters), which stops
  one machine from walking through many accounts.
Unknown emails are counted exactly like known ones, so the answers reveal nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from accounts.services import audit_record

from ..models import StaffLoginFailure


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def lock_after_failures() -> int:
    return _setting("STAFF_LOGIN_LOCK_AFTER", 5)


def lock_seconds() -> int:
    return _setting("STAFF_LOGIN_LOCK_SECONDS", 15 * 60)


# (attempts, window seconds)
RATE_PER_IP_EMAIL = (10, 10 * 60)
RATE_PER_IP = (30, 10 * 60)


@dataclass(frozen=True)
class LoginRefusal:
    reason: str  # "locked" | "rate_limited"
    message: str
    until: datetime | None = None


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()[:254]


def locked_until(email: str, now: datetime | None = None) -> datetime | None:
    now = now or timezone.now()
    window = timedelta(seconds=lock_seconds())
    recent = StaffLoginFailure.objects.filter(email=normalise_email(email), created_at__gt=now - window)
    stamps = list(recent.order_by("-created_at").values_list("created_at", flat=True)[: lock_after_failures()])
    if len(stamps) < lock_after_failures():
        return None
    until = stamps[0] + window
    return until if until > now else None


def _rate_key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f"cc-login-rate:{kind}:{digest}"


def _hit(key: str, limit: int, window: int) -> bool:
    """Count one attempt; False when the limit is already used up."""
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit


def login_check(*, email: str, ip: str | None) -> LoginRefusal | None:
    """Call before checking a password (or a TOTP code). Counts the attempt."""
    email = normalise_email(email)
    until = locked_until(email)
    if until is not None:
        minutes = max(1, int((until - timezone.now()).total_seconds() + 59) // 60)
        return LoginRefusal(
            "locked",
            f"This account is locked after too many failed attempts. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            until,
        )
    ip = ip or "-"
    within_pair = _hit(_rate_key("pair", ip, email), *RATE_PER_IP_EMAIL)
    within_ip = _hit(_rate_key("ip", ip), *RATE_PER_IP)
    if not (within_pair and within_ip):
        return LoginRefusal("rate_limited", "Too many login attempts from here. Wait a few minutes and try again.")
    return None


def login_failed(*, email: str, ip: str | None) -> datetime | None:
    """Record a failure; returns the lock's end if this failure locked the account."""
    email = normalise_email(email)
    StaffLoginFailure.objects.create(email=email, ip_address=ip or None)
    until = locked_until(email)
    if until is not None:
        audit_record(
            actor=None,
            action="staff.lockout",
            target_type="staff_email",
            target_id=email[:64],
            after={"locked_until": until.isoformat()},
            ip=ip or None,
        )
    return until


def login_succeeded(*, email: str) -> None:
    StaffLoginFailure.objects.filter(email=normalise_email(email)).delete()
