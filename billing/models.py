"""Extensions, customer transactions and payment incidents (the price list is `pricing`)."""

import uuid

from django.db import models
from django.db.models import Q

from pricing.models import Tier  # noqa: F401 - the price list, re-exported for old imports

PENDING_EXTENSION_STATES = ("requested", "accepted")


class Extension(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        EXPIRED = "expired"
        APPLIED = "applied"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey("chat.Session", on_delete=models.CASCADE, related_name="extensions")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT)
    minutes = models.PositiveIntegerField()
    price = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.REQUESTED)
    requested_at = models.DateTimeField(auto_now_add=True)
    respond_by = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(state__in=PENDING_EXTENSION_STATES),
                name="one_pending_extension_per_session",
            ),
        ]
        indexes = [
            models.Index(fields=["respond_by"], name="extension_requested_idx", condition=Q(state="requested")),
        ]


class Transaction(models.Model):
    """One customer payment (session or extension) and everything Xendit said about it."""

    class Kind(models.TextChoices):
        SESSION = "session"
        EXTENSION = "extension"

    class Status(models.TextChoices):
        PENDING = "pending"
        PAID = "paid"
        EXPIRED = "expired"
        FAILED = "failed"
        REFUND_NEEDED = "refund_needed"
        REFUNDED = "refunded"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="transactions")
    session = models.ForeignKey("chat.Session", on_delete=models.PROTECT, related_name="transactions")
    extension = models.OneToOneField(
        Extension, null=True, blank=True, on_delete=models.PROTECT, related_name="transaction"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.PositiveIntegerField()
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.PENDING)
    external_id = models.CharField(max_length=80, unique=True)
    xendit_invoice_id = models.CharField(max_length=80, blank=True, db_index=True)
    invoice_url = models.URLField(max_length=500, blank=True)
    gateway = models.CharField(max_length=10, default="xendit")
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    payment_method = models.CharField(max_length=40, blank=True)
    raw_callback = models.JSONField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="transaction_status_idx"),
            models.Index(fields=["expires_at"], name="transaction_pending_idx", condition=Q(status="pending")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["session"], condition=Q(kind="session"), name="one_session_payment"),
        ]


class PaymentIncident(models.Model):
    """A callback we refused to apply (unknown invoice, amount mismatch, a second payment
    of an already paid transaction): for staff."""

    class Kind(models.TextChoices):
        UNKNOWN_INVOICE = "unknown_invoice"
        AMOUNT_MISMATCH = "amount_mismatch"
        DUPLICATE_PAYMENT = "duplicate_payment"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    external_id = models.CharField(max_length=120, blank=True)
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    payload = models.JSONField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
