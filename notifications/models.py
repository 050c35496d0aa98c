"""Device tokens for FCM pushes."""

from django.db import models
from django.db.models import Q


class Device(models.Model):
    class Platform(models.TextChoices):
        ANDROID = "android"
        IOS = "ios"

    fcm_token = models.CharField(max_length=4096, unique=True)
    platform = models.CharField(max_length=10, choices=Platform.choices)
    client = models.ForeignKey("accounts.Client", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="devices")
    mitra = models.ForeignKey("accounts.Mitra", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="devices")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(client__isnull=False) & Q(mitra__isnull=True))
                | (Q(client__isnull=True) & Q(mitra__isnull=False)),
                name="device_has_one_owner",
            ),
        ]
