"""Crisis cases: a flag raised by the crisis check, worked by staff (new -> acknowledged -> handled).

A case keeps only what the check decided - level, categories - and the id of the message that
raised it: never a copy of any text. Imported by chat/models.py.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class CrisisCase(models.Model):
    class State(models.TextChoices):
        NEW = "new"
        ACKNOWLEDGED = "acknowledged"
        HANDLED = "handled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey("chat.Session", on_delete=models.CASCADE, related_name="crisis_cases")
    # The message that raised (or last escalated) the case: its id only.
    message = models.ForeignKey("chat.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    level = models.CharField(max_length=10)                   # "medium" | "high"
    categories = models.JSONField(default=list)               # e.g. ["suicide"]
    state = models.CharField(max_length=15, choices=State.choices, default=State.NEW)
    created_at = models.DateTimeField(auto_now_add=True)
    escalated_at = models.DateTimeField(null=True, blank=True)   # medium -> high on an open case
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    claimed_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)
    # On-call notification for a high case nobody acknowledged in time (sent once per case).
    oncall_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["session"], condition=~Q(state="handled"), name="one_open_case_per_session"),
        ]
        indexes = [
            models.Index(fields=["state", "created_at"], name="crisis_case_open_idx", condition=~Q(state="handled")),
        ]

    def __str__(self) -> str:
        return f"Crisis case {self.id} ({self.level}, {self.state})"

    @property
    def is_open(self) -> bool:
        return self.state != self.State.HANDLED
