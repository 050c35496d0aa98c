"""Devices: the "send test push" action on a client's or mitra's device list."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from halobestie.errors import ApplicationError
from notifications.models import Device
from notifications.services import send_test_push

from ..roles import perm
from .base import staff_permission


def _owner_page(device: Device) -> str:
    if device.mitra_id:
        return reverse("control_center:mitra_detail", kwargs={"mitra_id": device.mitra_id})
    return reverse("control_center:client_detail", kwargs={"client_id": device.client_id})


@require_POST
@staff_permission(perm("send_test_push"))
def device_test_push(request: HttpRequest, device_id: int) -> HttpResponse:
    device = get_object_or_404(Device, pk=device_id)
    try:
        # The push service audits the action and queues the fixed test notification.
        send_test_push(device_id=device.id, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, f"Test push failed: {exc.detail}")
    else:
        messages.success(request, f"Test push queued for the {device.get_platform_display()} device.")
    return redirect(_owner_page(device))
