"""Changing a staff member's second factor: enrol, remove, new recovery codes, and an
admin's reset of someone else's. Every change asks for the password again, so a session
alone (a stolen cookie, an unlocked screen) cannot turn two-factor sign-in off or move it
to another phone. Wrong passwords count towards the login lockout, like a failed login.
Every change is audited.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.services import audit_record
from halobestie.errors import ApplicationError

from ..models import StaffTOTP
from . import lockout, recovery
from .totp import enrolled_totp, matching_step, new_secret, second_factor_verify

WRONG_PASSWORD = "Your password is not right."


def _refuse(field: str, message: str) -> ApplicationError:
    return ApplicationError("validation_error", message, fields={field: [message]})


def password_confirm(*, user, password: str, ip: str | None) -> None:
    """Raise unless `password` is the user's own; counted like a login attempt."""
    email = lockout.normalise_email(user.get_username())
    refusal = lockout.login_check(email=email, ip=ip)
    if refusal is not None:
        raise _refuse("password", refusal.message)
    if not user.check_password(password or ""):
        lockout.login_failed(email=email, ip=ip)
        raise _refuse("password", WRONG_PASSWORD)


def totp_begin_enrolment(*, user, fresh: bool = True) -> StaffTOTP:
    """A fresh unconfirmed secret (replacing an unconfirmed one; never a confirmed one).
    `fresh=False` keeps the pending one: a mistyped password must not change the secret
    the staff member has just added to their app."""
    row, created = StaffTOTP.objects.get_or_create(user=user, defaults={"secret": new_secret()})
    if not created and not row.is_enrolled and fresh:
        row.secret = new_secret()
        row.save(update_fields=["secret"])
    return row


def totp_confirm_enrolment(*, user, password: str, code: str, ip: str | None = None) -> list[str]:
    """Turn two-factor sign-in on: the password, then a code from the new secret. Returns
    the recovery codes (shown once)."""
    password_confirm(user=user, password=password, ip=ip)
    with transaction.atomic():
        row = StaffTOTP.objects.select_for_update().filter(user=user, confirmed_at__isnull=True).first()
        if row is None:
            raise ApplicationError("invalid_state", "Two-factor sign-in is already on.")
        step = matching_step(row.secret, code)
        if step is None:
            raise _refuse("code", "That code is not right. Check the time on your phone and try again.")
        row.confirmed_at = timezone.now()
        row.last_used_step = step
        row.save(update_fields=["confirmed_at", "last_used_step"])
        codes = recovery.recovery_codes_issue(user=user)
        audit_record(
            actor=user,
            action="staff.totp_enrol",
            target=user,
            target_type="user",
            after={"recovery_codes": len(codes)},
            ip=ip,
        )
    return codes


def _second_factor(*, user, code: str, ip: str | None) -> str:
    if enrolled_totp(user) is None:
        raise ApplicationError("invalid_state", "Two-factor sign-in is not on.")
    used = second_factor_verify(user=user, code=code, ip=ip)
    if used is None:
        lockout.login_failed(email=lockout.normalise_email(user.get_username()), ip=ip)
        raise _refuse("code", "That code is not right (or was already used).")
    return used


def totp_remove(*, user, password: str, code: str, ip: str | None = None) -> None:
    """The staff member turns their own two-factor sign-in off: password and a current code
    (or a recovery code)."""
    password_confirm(user=user, password=password, ip=ip)
    used = _second_factor(user=user, code=code, ip=ip)
    with transaction.atomic():
        StaffTOTP.objects.filter(user=user).delete()
        recovery.recovery_codes_delete(user=user)
        audit_record(actor=user, action="staff.totp_remove", target=user, target_type="user",
                     after={"with": used}, ip=ip)


def recovery_codes_regenerate(*, user, password: str, code: str, ip: str | None = None) -> list[str]:
    """New recovery codes (the old ones stop working): password and a current code."""
    password_confirm(user=user, password=password, ip=ip)
    used = _second_factor(user=user, code=code, ip=ip)
    with transaction.atomic():
        codes = recovery.recovery_codes_issue(user=user)
        audit_record(actor=user, action="staff.recovery_codes_new", target=user, target_type="user",
                     after={"recovery_codes": len(codes), "with": used}, ip=ip)
    return codes


def totp_reset(*, actor, user, password: str, ip: str | None = None) -> None:
    """An admin turns someone else's two-factor sign-in off (lost phone and codes); the
    admin's own password is asked for. Whether the actor may is the view's permission."""
    if actor.pk == user.pk:
        raise ApplicationError("invalid_state", "Use your own two-factor page to change your sign-in.")
    password_confirm(user=actor, password=password, ip=ip)
    with transaction.atomic():
        deleted, _ = StaffTOTP.objects.filter(user=user, confirmed_at__isnull=False).delete()
        if not deleted:
            raise ApplicationError("invalid_state", "Two-factor sign-in is not on for this account.")
        StaffTOTP.objects.filter(user=user).delete()
        recovery.recovery_codes_delete(user=user)
        audit_record(actor=actor, action="staff.totp_remove", target=user, target_type="user",
                     after={"reset_by_admin": True}, ip=ip)
