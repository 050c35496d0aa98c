"""Sessions: filtered list, detail with timeline, reroute and force close."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Mitra
from chat.services.lifecycle import session_force_close, session_reroute
from halobestie.errors import ApplicationError
from pairing.selectors import available_mitras

from .. import selectors
from ..forms import ForceCloseForm, RerouteForm, SessionFilterForm
from ..roles import perm
from ..selectors_crisis import with_load
from .base import VIEW, paginate, session_or_404, staff_permission

REROUTE = perm("reroute_session")
FORCE_CLOSE = perm("force_close_session")


def _reroute_choices(session):
    """Available mitras with their live and flagged load (least flagged first)."""
    ids = available_mitras(exclude_ids=[session.mitra_id], for_client_id=session.client_id).values("id")
    return with_load(Mitra.objects.filter(id__in=ids)).order_by("flagged_load", "live_load", "display_name")


@staff_permission(VIEW)
def session_list(request: HttpRequest) -> HttpResponse:
    form = SessionFilterForm(request.GET or None)
    page = paginate(request, selectors.session_list(**form.filters()))
    return render(request, "control_center/sessions/list.html", {"page": page, "form": form})


def _render_detail(request, session, *, reroute_form=None, close_form=None, status=200) -> HttpResponse:
    user = request.user
    context = {
        "session": session,
        "timeline": selectors.session_timeline(session),
        "extensions": selectors.session_extensions(session),
        "transactions": selectors.session_transactions(session),
        "closure": getattr(session, "closure", None),
        "reroute_form": reroute_form
        or (RerouteForm(available=_reroute_choices(session)) if session.is_live and user.has_perm(REROUTE) else None),
        "close_form": close_form or (ForceCloseForm() if session.is_live and user.has_perm(FORCE_CLOSE) else None),
        "crisis_cases": list(session.crisis_cases.order_by("-created_at")[:5]),
    }
    return render(request, "control_center/sessions/detail.html", context, status=status)


@staff_permission(VIEW)
def session_detail(request: HttpRequest, session_id) -> HttpResponse:
    return _render_detail(request, session_or_404(session_id))


@require_POST
@staff_permission(REROUTE)
def session_reroute_view(request: HttpRequest, session_id) -> HttpResponse:
    session = session_or_404(session_id)
    form = RerouteForm(request.POST, available=_reroute_choices(session))
    if form.is_valid():
        to_mitra = form.cleaned_data["to_mitra"]
        try:
            session_reroute(session_id=session.id, to_mitra=to_mitra, actor=request.user)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, f"Session rerouted to {to_mitra.display_name}.")
            return redirect("control_center:session_detail", session_id=session.id)
    return _render_detail(request, session, reroute_form=form, status=400)


@require_POST
@staff_permission(FORCE_CLOSE)
def session_force_close_view(request: HttpRequest, session_id) -> HttpResponse:
    session = session_or_404(session_id)
    form = ForceCloseForm(request.POST)
    if form.is_valid():
        try:
            session_force_close(session_id=session.id, actor=request.user, note=form.cleaned_data["note"])
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, "Session closed by staff.")
            return redirect("control_center:session_detail", session_id=session.id)
    return _render_detail(request, session, close_form=form, status=400)
