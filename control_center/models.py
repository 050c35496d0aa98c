"""Staff sign-in records: failed logins (for rate limits and lockout) and TOTP secrets."""

from django.conf import settings
from django.db import models


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
