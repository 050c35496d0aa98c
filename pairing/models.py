"""Mitra presence and pairing requests (the blast, its offers and declines)."""

import uuid

from django.db import models
from django.db.models import Q


class MitraPresence(models.Model):
    """One row per mitra: online or not, and the last heartbeat. Also the row the accept
    locks to serialise capacity checks for that mitra."""

    class Status(models.TextChoices):
        ONLINE = "online"
        OFFLINE = "offline"

    mitra = models.OneToOneField("accounts.Mitra", on_delete=models.CASCADE, primary_key=True,
                                 related_name="presence")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OFFLINE)
    since = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    current_log = models.ForeignKey("MitraOnlineLog", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    # Why the mitra is offline: a heartbeat resumes an `auto_offline` mitra, never a
    # manual, staff or deactivation offline.
    offline_reason = models.CharField(max_length=20, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "last_heartbeat_at"], name="presence_online_idx",
                         condition=Q(status="online")),
        ]


class MitraOnlineLog(models.Model):
    """One online period of a mitra and why it ended."""

    class EndReason(models.TextChoices):
        MANUAL = "manual"
        AUTO_OFFLINE = "auto_offline"
        LOGOUT = "logout"
        DEACTIVATED = "deactivated"
        STAFF = "staff"

    mitra = models.ForeignKey("accounts.Mitra", on_delete=models.CASCADE, related_name="online_logs")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["mitra", "-started_at"], name="online_log_mitra_idx")]

    @property
    def duration_seconds(self) -> int | None:
        if not self.ended_at:
            return None
        return int((self.ended_at - self.started_at).total_seconds())


class PairingRequest(models.Model):
    class State(models.TextChoices):
        SEARCHING = "searching"
        MATCHED = "matched"
        EXPIRED = "expired"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey("accounts.Client", on_delete=models.CASCADE,
                               related_name="pairing_requests")
    tier = models.ForeignKey("pricing.Tier", null=True, blank=True, on_delete=models.PROTECT)
    free_trial = models.BooleanField(default=False)
    topic = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.SEARCHING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    matched_mitra = models.ForeignKey("accounts.Mitra", null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    session = models.OneToOneField("chat.Session", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="pairing_request")
    # Ask the client's previous mitra first (care issue); empty for a plain blast.
    preferred_mitra = models.ForeignKey("accounts.Mitra", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["client"], condition=Q(state="searching"),
                                    name="one_searching_request_per_client"),
            models.CheckConstraint(condition=Q(free_trial=True) | Q(tier__isnull=False),
                                   name="pairing_request_tier_or_trial"),
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="pairing_searching_idx",
                         condition=Q(state="searching")),
            models.Index(fields=["-created_at"], name="pairing_created_idx"),
        ]


class PairingOffer(models.Model):
    """A request offered to one mitra. Written in bulk by the blast; tells whom to withdraw."""

    class State(models.TextChoices):
        OPEN = "open"
        DECLINED = "declined"
        WITHDRAWN = "withdrawn"
        ACCEPTED = "accepted"

    request = models.ForeignKey(PairingRequest, on_delete=models.CASCADE, related_name="offers")
    mitra = models.ForeignKey("accounts.Mitra", on_delete=models.CASCADE, related_name="offers")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "mitra"], name="one_offer_per_mitra"),
        ]
        indexes = [
            models.Index(fields=["mitra", "state"], name="offer_mitra_open_idx",
                         condition=Q(state="open")),
        ]


class MitraBlock(models.Model):
    """A client's "don't match me with this mitra again"."""

    client = models.ForeignKey("accounts.Client", on_delete=models.CASCADE, related_name="mitra_blocks")
    mitra = models.ForeignKey("accounts.Mitra", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "mitra"], name="one_block_per_pair")]
