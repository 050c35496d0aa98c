"""Mitras: list and search, create, edit, deactivate/reactivate, force offline, detail."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Mitra
from accounts.services import mitra_create, mitra_set_active, mitra_update
from chat.models import LIVE_STATES
from chat.services.care import mitra_rating_summary
from halobestie.errors import ApplicationError
from pairing.selectors import mitra_live_sessions

from .. import selectors, services
from ..forms import MitraForm, apply_error
from ..roles import perm
from .base import VIEW, client_ip, paginate, staff_permission


@staff_permission(VIEW)
def mitra_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:80]
    page = paginate(request, selectors.mitra_list(query))
    return render(request, "control_center/mitras/list.html", {"page": page, "q": query})


@staff_permission(perm("manage_mitra"))
def mitra_create_view(request: HttpRequest) -> HttpResponse:
    form = MitraForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mitra = mitra_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, f"Mitra {mitra.display_name} created. They can now sign in with {mitra.phone}.")
            return redirect("control_center:mitra_detail", mitra_id=mitra.id)
    return render(request, "control_center/mitras/form.html", {"form": form, "mitra": None})


@staff_permission(perm("manage_mitra"))
def mitra_edit(request: HttpRequest, mitra_id) -> HttpResponse:
    mitra = get_object_or_404(Mitra, pk=mitra_id)
    form = MitraForm.for_mitra(mitra, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mitra_update(mitra=mitra, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, "Mitra saved.")
            return redirect("control_center:mitra_detail", mitra_id=mitra.id)
    return render(request, "control_center/mitras/form.html", {"form": form, "mitra": mitra})


@require_POST
@staff_permission(perm("manage_mitra"))
def mitra_set_active_view(request: HttpRequest, mitra_id) -> HttpResponse:
    mitra = get_object_or_404(Mitra, pk=mitra_id)
    active = request.POST.get("active") == "1"
    mitra_set_active(mitra=mitra, active=active, actor=request.user)
    messages.success(request, f"{mitra.display_name} is {'active again' if active else 'deactivated and offline'}.")
    return redirect("control_center:mitra_detail", mitra_id=mitra.id)


@require_POST
@staff_permission(perm("force_mitra_offline"))
def mitra_force_offline(request: HttpRequest, mitra_id) -> HttpResponse:
    mitra = get_object_or_404(Mitra, pk=mitra_id)
    try:
        services.mitra_force_offline(actor=request.user, mitra=mitra, ip=client_ip(request))
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"{mitra.display_name} is now offline.")
    return redirect("control_center:mitra_detail", mitra_id=mitra.id)


@staff_permission(VIEW)
def mitra_detail(request: HttpRequest, mitra_id) -> HttpResponse:
    mitra = get_object_or_404(Mitra, pk=mitra_id)
    sessions = selectors.mitra_sessions(mitra)
    context = {
        "mitra": mitra,
        "presence": selectors.mitra_presence(mitra),
        "live_count": mitra_live_sessions(mitra.id),
        "live_sessions": sessions.filter(state__in=LIVE_STATES),
        "recent_sessions": sessions[:20],
        "logs": paginate(request, selectors.mitra_online_logs(mitra), param="logs", per_page=20),
        "rating": mitra_rating_summary(mitra, days=30),
        "feedback": selectors.mitra_recent_feedback(mitra),
        "devices": selectors.devices_for(mitra),
    }
    return render(request, "control_center/mitras/detail.html", context)
