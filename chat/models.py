"""Sessions (the paid, timed conversation), its messages, closure, timeline and feedback."""

import uuid

from django.db import models
from django.db.models import Q

from .rules import MAX_BODY

LIVE_STATES = ("awaiting_payment", "active", "closing")
WRITABLE_STATES = ("active", "closing")


class Session(models.Model):
    class State(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment"
        ACTIVE = "active"
        CLOSING = "closing"
        CLOSED = "closed"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey("accounts.Client", on_delete=models.CASCADE, related_name="sessions")
    mitra = models.ForeignKey("accounts.Mitra", on_delete=models.PROTECT, related_name="sessions")
    tier = models.ForeignKey("pricing.Tier", null=True, blank=True, on_delete=models.PROTECT)
    free_trial = models.BooleanField(default=False)
    minutes = models.PositiveIntegerField()
    price = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=20, choices=State.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    matched_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    closing_ends_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    payment_due_at = models.DateTimeField(null=True, blank=True)
    # The next ending-soon warning still to send (None: none left); a deadline like the rest.
    next_warning_at = models.DateTimeField(null=True, blank=True)
    # Care and safety.
    risk_level = models.CharField(max_length=10, blank=True)
    first_flagged_at = models.DateTimeField(null=True, blank=True)
    # The latest message of the current mitra (None: the current mitra has not written yet).
    last_mitra_message_at = models.DateTimeField(null=True, blank=True)
    # The current mitra went offline automatically at this moment: the grace period runs.
    mitra_away_since = models.DateTimeField(null=True, blank=True)
    # Set while the session waits for an automatic reroute (no-show, mitra offline after the
    # grace period, mitra deactivated).
    reroute_needed_since = models.DateTimeField(null=True, blank=True)
    reroute_reason = models.CharField(max_length=20, blank=True)
    # Since when the client has been without a mitra who serves them: the credit for the
    # wait counts from here, so it is never more than the real gap.
    unserved_since = models.DateTimeField(null=True, blank=True)
    # The session's stream: the last `seq` given to a message. Taken under the session's row
    # lock, in the transaction that stores the message, so seq order is commit order.
    last_seq = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("view_transcript", "Can read session transcripts (audited)")]
        indexes = [
            models.Index(fields=["mitra", "state"], name="session_mitra_live_idx",
                         condition=Q(state__in=LIVE_STATES)),
            models.Index(fields=["client", "-created_at"], name="session_client_idx"),
            models.Index(fields=["mitra", "-created_at"], name="session_mitra_idx"),
            models.Index(fields=["ends_at"], name="session_active_due_idx",
                         condition=Q(state="active")),
            models.Index(fields=["closing_ends_at"], name="session_closing_due_idx",
                         condition=Q(state="closing")),
            models.Index(fields=["payment_due_at"], name="session_payment_due_idx",
                         condition=Q(state="awaiting_payment")),
            models.Index(fields=["-created_at"], name="session_created_idx"),
        ]
        constraints = [
            # One live session per client, whatever raced to create it.
            models.UniqueConstraint(fields=["client"], condition=Q(state__in=LIVE_STATES),
                                    name="one_live_session_per_client"),
        ]

    def __str__(self) -> str:
        return f"Session {self.id} ({self.state})"

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES


class SessionAssignment(models.Model):
    """One mitra's turn at a session: who served it, from when, until when and why it
    ended. Every rule about the session's mitra (no-show, credit, who may write) reads the
    current one (`ended_at` is null), never the session's start."""

    class EndReason(models.TextChoices):
        REROUTED = "rerouted"            # staff moved the session
        MITRA_NO_SHOW = "mitra_no_show"  # the mitra never wrote
        MITRA_OFFLINE = "mitra_offline"  # offline past the grace period
        MITRA_DEACTIVATED = "mitra_deactivated"
        SESSION_ENDED = "session_ended"  # the session closed or was cancelled

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="assignments")
    mitra = models.ForeignKey("accounts.Mitra", on_delete=models.PROTECT, related_name="assignments")
    assigned_at = models.DateTimeField()
    first_message_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    # The wait credited to the client when this assignment began (a reroute after a gap).
    credited_seconds = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session"], condition=Q(ended_at__isnull=True),
                                    name="one_current_assignment_per_session"),
        ]
        indexes = [
            models.Index(fields=["first_message_at"], name="assignment_unserved_idx",
                         condition=Q(ended_at__isnull=True, first_message_at__isnull=True)),
        ]


class SessionClosure(models.Model):
    class ClosedBy(models.TextChoices):
        CLIENT = "client"
        MITRA = "mitra"
        SYSTEM = "system"
        STAFF = "staff"

    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="closure")
    closed_by = models.CharField(max_length=10, choices=ClosedBy.choices)
    reason = models.CharField(max_length=40)
    note = models.CharField(max_length=500, blank=True)
    closed_at = models.DateTimeField()


class SessionEvent(models.Model):
    """The session's timeline, for staff: every transition, reroute and flag."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


class Message(models.Model):
    class Sender(models.TextChoices):
        CLIENT = "client"
        MITRA = "mitra"
        SYSTEM = "system"

    class Status(models.TextChoices):
        SENT = "sent"
        DELIVERED = "delivered"
        READ = "read"

    # The row's key stays internal; the public id is the UUID.
    row = models.BigAutoField(primary_key=True)
    id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: the (session, seq) unique index leads with it and serves every
    # lookup by session; one index fewer to write per message (bench/FINDINGS.md F8).
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="messages", db_index=False)
    # Per session, gapless, in commit order (1, 2, 3 …): the catch-up cursor (`after_seq`).
    seq = models.PositiveBigIntegerField()
    sender = models.CharField(max_length=10, choices=Sender.choices)
    sender_mitra = models.ForeignKey("accounts.Mitra", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    client_message_id = models.CharField(max_length=64, blank=True)
    body = models.TextField(max_length=MAX_BODY)
    system_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    body_purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="message_session_seq"),
            # The idempotency key names the sender: the client, or the very mitra who wrote
            # (after a reroute the new mitra's ids never collide with the old mitra's).
            models.UniqueConstraint(
                fields=["session", "client_message_id"],
                condition=Q(sender="client") & ~Q(client_message_id=""),
                name="message_idempotency_client",
            ),
            models.UniqueConstraint(
                fields=["session", "sender_mitra", "client_message_id"],
                condition=Q(sender="mitra") & ~Q(client_message_id=""),
                name="message_idempotency_mitra",
            ),
        ]


class Feedback(models.Model):
    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="feedback")
    mitra = models.ForeignKey("accounts.Mitra", on_delete=models.CASCADE, related_name="feedback")
    rating = models.PositiveSmallIntegerField()
    comment = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="rating_1_to_5"),
        ]


class SessionReport(models.Model):
    """A client's report about a session, for the control center's queue."""

    class Reason(models.TextChoices):
        INAPPROPRIATE = "inappropriate", "Inappropriate behaviour"
        UNPROFESSIONAL = "unprofessional", "Unprofessional"
        NO_RESPONSE = "no_response", "Mitra did not respond"
        SAFETY = "safety", "Safety concern"
        BILLING = "billing", "Billing problem"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open"
        IN_REVIEW = "in_review"
        RESOLVED = "resolved"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="reports")
    client = models.ForeignKey("accounts.Client", on_delete=models.CASCADE, related_name="reports")
    mitra = models.ForeignKey("accounts.Mitra", on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution_note = models.CharField(max_length=1000, blank=True)
    resolved_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["session", "client"], name="one_report_per_session"),
        ]


from .models_care import CrisisCase  # noqa: E402,F401  (crisis cases live in their own module)
