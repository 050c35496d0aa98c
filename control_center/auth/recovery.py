"""Recovery codes: ten one-time codes that stand in for the authenticator app at login (a
lost or reset phone). Shown once, when issued; only their SHA-256 is stored.

Each code is 16 characters from a 31-letter alphabet without look-alikes (79 bits), so
a plain digest is safe at rest: nobody can enumerate the codes from it. A code is spent
by one conditional UPDATE, so two logins racing with the same code cannot both pass.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from ..models import StaffRecoveryCode

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
LENGTH = 16
COUNT = 10
GROUP = 4


def normalise(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch not in " -\t")


def looks_like_recovery_code(code: str) -> bool:
    value = normalise(code)
    return len(value) == LENGTH and all(ch in ALPHABET for ch in value)


def digest(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def _display(value: str) -> str:
    return "-".join(value[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def recovery_codes_issue(*, user) -> list[str]:
    """Replace the user's codes with COUNT new ones; returns them (the only time they exist
    in plain text). The caller audits and shows them."""
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(COUNT)]
    with transaction.atomic():
        StaffRecoveryCode.objects.filter(user=user).delete()
        StaffRecoveryCode.objects.bulk_create(StaffRecoveryCode(user=user, code_hash=digest(c)) for c in codes)
    return [_display(c) for c in codes]


def recovery_code_use(*, user, code: str) -> bool:
    """Spend one unused code of this user; False if it is not one (or already used)."""
    if not looks_like_recovery_code(code):
        return False
    spent = StaffRecoveryCode.objects.filter(user=user, code_hash=digest(code), used_at__isnull=True).update(
        used_at=timezone.now()
    )
    return spent == 1


def recovery_codes_left(user) -> int:
    return StaffRecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def recovery_codes_delete(*, user) -> None:
    StaffRecoveryCode.objects.filter(user=user).delete()
