"""Pricing tiers: list, create, edit, deactivate/reactivate."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from halobestie.errors import ApplicationError
from pricing.models import Tier

from .. import services
from ..forms import TierForm, apply_error
from ..roles import perm
from .base import VIEW, client_ip, staff_permission


@staff_permission(VIEW)
def tier_list(request: HttpRequest) -> HttpResponse:
    tiers = Tier.objects.order_by("kind", "sort_order", "price")
    context = {
        "session_tiers": [t for t in tiers if t.kind == Tier.Kind.SESSION],
        "extension_tiers": [t for t in tiers if t.kind == Tier.Kind.EXTENSION],
    }
    return render(request, "control_center/tiers/list.html", context)


@staff_permission(perm("manage_tier"))
def tier_create(request: HttpRequest) -> HttpResponse:
    form = TierForm(request.POST or None, initial={"kind": request.GET.get("kind", Tier.Kind.SESSION)})
    if request.method == "POST" and form.is_valid():
        try:
            tier = services.tier_create(actor=request.user, ip=client_ip(request), **form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, f"Tier \u201c{tier.name}\u201d created.")
            return redirect("control_center:tier_list")
    return render(request, "control_center/tiers/form.html", {"form": form, "tier": None})


@staff_permission(perm("manage_tier"))
def tier_edit(request: HttpRequest, tier_id) -> HttpResponse:
    tier = get_object_or_404(Tier, pk=tier_id)
    form = TierForm.for_tier(tier, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.tier_update(actor=request.user, tier_id=tier.id, ip=client_ip(request), **form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, "Tier saved. Sessions already priced keep their price.")
            return redirect("control_center:tier_list")
    return render(request, "control_center/tiers/form.html", {"form": form, "tier": tier})


@require_POST
@staff_permission(perm("manage_tier"))
def tier_set_active(request: HttpRequest, tier_id) -> HttpResponse:
    tier = get_object_or_404(Tier, pk=tier_id)
    active = request.POST.get("active") == "1"
    services.tier_set_active(actor=request.user, tier_id=tier.id, active=active, ip=client_ip(request))
    messages.success(request, f"Tier \u201c{tier.name}\u201d {'reactivated' if active else 'deactivated'}.")
    return redirect("control_center:tier_list")
