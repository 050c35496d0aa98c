"""Staff sign-in records (failed logins, TOTP secrets, recovery codes) and the anchor of
the control center's permissions."""

from django.conf import settings
from django.db import models

from .roles import PERMISSIONS


class StaffAccess(models.Model):
    """No table: the content type the control center's permissions belong to. Which role
    holds which permission is `roles.ROLES`."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [(codename, f"Can {label}") for codename, label in PERMISSIONS.items()]


class StaffLoginFailure(models.Model):
    """One failed control-center login. Counted per email (lockout) and per IP."""

    email = models.CharField(max_length=254, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["email", "-created_at"], name="cc_login_failure_email_idx")]


class StaffTOTP(models.Model):
    """A staff member's TOTP (RFC 6238) secret. Enrolled once confirmed with a code."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_totp")
    secret = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last accepted time step: a code is never accepted twice (replay).
    last_used_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def is_enrolled(self) -> bool:
        return self.confirmed_at is not None


class StaffRecoveryCode(models.Model):
    """A one-time code that stands in for the authenticator app at login. Only its
    SHA-256 is stored (the codes are random, 80 bits: a plain digest cannot be reversed)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "code_hash"], name="cc_recovery_code_unique")]
