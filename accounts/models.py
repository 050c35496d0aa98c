"""Who uses Halo Bestie: clients, mitras, the platform settings row and the audit log."""

import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

ALIAS_ADJECTIVES = [
    "Biru", "Tenang", "Hangat", "Cerah", "Lembut", "Teduh", "Riang", "Sejuk",
    "Damai", "Terang", "Ceria", "Manis", "Kalem", "Sabar", "Setia", "Jernih",
]
ALIAS_NOUNS = [
    "Awan", "Bintang", "Pelangi", "Embun", "Senja", "Ombak", "Bulan", "Mentari",
    "Kupu", "Melati", "Angin", "Daun", "Pagi", "Hujan", "Lautan", "Gunung",
]


def alias_for(seed: str) -> str:
    """A stable pseudonym ("Awan Teduh 42") derived from an id; never reveals it."""
    digest = hashlib.sha256(f"halobestie-alias:{seed}".encode()).digest()
    noun = ALIAS_NOUNS[digest[0] % len(ALIAS_NOUNS)]
    adjective = ALIAS_ADJECTIVES[digest[1] % len(ALIAS_ADJECTIVES)]
    return f"{noun} {adjective} {int.from_bytes(digest[2:4], 'big') % 100:02d}"


class Client(models.Model):
    """Someone who comes to talk. Linked to one Firebase user by UID."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    firebase_uid = models.CharField(max_length=128, unique=True)
    display_name = models.CharField(max_length=60, blank=True)
    is_anonymous = models.BooleanField(default=True)
    sign_in_provider = models.CharField(max_length=40, blank=True)
    # Kept for staff support; never logged, never shown to mitras.
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    is_blocked = models.BooleanField(default=False)
    blocked_reason = models.CharField(max_length=200, blank=True)
    free_trial_used = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["-created_at"], name="client_created_idx")]

    def __str__(self) -> str:
        return self.display_name or self.alias

    is_authenticated = True  # lets DRF treat a Client as request.user

    @property
    def is_registered(self) -> bool:
        return not self.is_anonymous

    @property
    def alias(self) -> str:
        return alias_for(str(self.id))

    @property
    def role(self) -> str:
        return "client"


class Mitra(models.Model):
    """A trained professional. Exists only because staff created it with a phone number."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    phone = models.CharField(max_length=20, unique=True, help_text="E.164, e.g. +628123456789")
    firebase_uid = models.CharField(max_length=128, unique=True, null=True, blank=True)
    display_name = models.CharField(max_length=80)
    bio = models.TextField(blank=True, max_length=2000)
    photo_url = models.URLField(blank=True)
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    is_authenticated = True

    @property
    def role(self) -> str:
        return "mitra"


class PlatformSettings(models.Model):
    """The one row of platform settings (product.md's table). Read through selectors."""

    CLIENT_IDENTITY_CHOICES = [("alias", "Alias (pseudonym)"), ("display_name", "Display name")]

    max_customers_per_mitra = models.PositiveSmallIntegerField(default=3)
    pairing_timeout = models.PositiveIntegerField(default=60)
    heartbeat_interval = models.PositiveIntegerField(default=30)
    auto_offline_after = models.PositiveIntegerField(default=90)
    payment_timeout = models.PositiveIntegerField(default=600)
    extension_timeout = models.PositiveIntegerField(default=60)
    goodbye_window = models.PositiveIntegerField(default=120)
    ending_soon_warnings = models.CharField(max_length=100, default="300,60")
    free_trial_enabled = models.BooleanField(default=True)
    free_trial_minutes = models.PositiveIntegerField(default=15)
    anonymous_trial_allowed = models.BooleanField(default=True)
    mitra_can_end_early = models.BooleanField(default=True)
    client_can_end_early = models.BooleanField(default=True)
    client_identity_for_mitra = models.CharField(
        max_length=20, choices=CLIENT_IDENTITY_CHOICES, default="alias"
    )
    # Care and safety (beyond the original system).
    mitra_no_show_after = models.PositiveIntegerField(
        default=180, help_text="seconds after a paid session starts without a mitra message -> reroute"
    )
    mitra_grace_period = models.PositiveIntegerField(
        default=120, help_text="seconds an auto-offline mitra with live sessions has to come back before a reroute"
    )
    preferred_mitra_window = models.PositiveIntegerField(
        default=20, help_text="seconds a 'return to my previous mitra' request waits for that mitra alone"
    )
    mitra_daily_session_cap = models.PositiveIntegerField(default=0, help_text="0 = no cap")
    pause_after_flagged_minutes = models.PositiveIntegerField(
        default=10, help_text="a mitra gets no new offers this long after a risk-flagged session closes"
    )
    crisis_resources_text = models.TextField(
        default=(
            "Kamu tidak sendirian. Jika kamu dalam bahaya atau berpikir untuk menyakiti diri, "
            "segera hubungi layanan darurat 112 atau 119 ext 8 (SEJIWA), atau datang ke IGD rumah "
            "sakit terdekat. Mitra kami ada di sini untuk menemanimu."
        ),
        max_length=1000,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "platform settings"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="platform_settings_singleton")]

    @property
    def warning_offsets(self) -> list[int]:
        return sorted(
            {int(p) for p in self.ending_soon_warnings.split(",") if p.strip().isdigit()},
            reverse=True,
        )


class AuditLog(models.Model):
    """Every staff change and every transcript view: who, what, before/after, when."""

    id = models.BigAutoField(primary_key=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_type}:{self.target_id}"
