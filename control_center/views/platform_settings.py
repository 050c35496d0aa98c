"""The platform settings page: every key of product.md's table, grouped, one save. Every
role reads it; only admins change it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.models import PlatformSettings
from accounts.services import platform_settings_update
from halobestie.errors import ApplicationError

from ..forms import PlatformSettingsForm, apply_error
from ..roles import perm
from .base import VIEW, staff_permission

CHANGE = perm("change_platform_settings")


@staff_permission(VIEW, write=CHANGE)
def settings_edit(request: HttpRequest) -> HttpResponse:
    # Read the row itself, not the 5-second cache: staff must see what is stored.
    row, _ = PlatformSettings.objects.get_or_create(id=1)
    can_change = request.user.has_perm(CHANGE)
    form = PlatformSettingsForm(request.POST or None, row=row, read_only=not can_change)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                platform_settings_update(actor=request.user, changes=form.changes())
            except ApplicationError as exc:
                apply_error(form, exc)
            else:
                messages.success(request, "Settings saved. Every process uses them within a few seconds.")
                return redirect("control_center:settings")
        status = 400
    return render(request, "control_center/settings.html", {"form": form, "row": row, "can_change": can_change}, status=status)
