"""Crisis cases: the queue, one case (with the audited transcript, the flagged message marked),
and the supervisor's actions - acknowledge, take, handled, reroute."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Mitra
from chat.models import CrisisCase
from chat.services import triage
from halobestie.errors import ApplicationError
from halobestie.ids import parse_uuid

from .. import selectors_crisis
from ..roles import TRANSCRIPT, perm
from .base import VIEW, staff_permission

TRIAGE = perm("triage_crisis")
REROUTE = perm("reroute_session")


def _case_or_404(case_id) -> CrisisCase:
    case = (CrisisCase.objects.select_related("session", "session__client", "session__mitra", "claimed_by",
                                              "acknowledged_by", "handled_by")
            .filter(pk=parse_uuid(str(case_id))).first())
    if case is None:
        raise Http404("No such case.")
    return case


@staff_permission(VIEW)
def case_list(request: HttpRequest) -> HttpResponse:
    return render(request, "control_center/crisis/list.html", {
        "cases": list(selectors_crisis.open_cases()),
        "handled": list(selectors_crisis.recent_handled_cases()),
    })


@staff_permission(VIEW)
def case_detail(request: HttpRequest, case_id) -> HttpResponse:
    """The case: no message text here; the transcript (its own gate, second factor and audit)
    opens from a link with the flagged message marked."""
    case = _case_or_404(case_id)
    user = request.user
    return render(request, "control_center/crisis/detail.html", {
        "view": selectors_crisis.case_view(case), "case": case, "session": case.session,
        "can_read_transcript": user.has_perm(TRANSCRIPT), "can_triage": user.has_perm(TRIAGE),
        "can_reroute": user.has_perm(REROUTE),
    })


def _act(request, case_id, action, done: str) -> HttpResponse:
    try:
        action(case_id=case_id, actor=request.user)
    except ApplicationError as exc:
        if exc.code == "not_found":
            raise Http404("No such case.") from None
        messages.error(request, exc.detail)
    else:
        messages.success(request, done)
    return redirect("control_center:crisis_case", case_id=case_id)


@require_POST
@staff_permission(TRIAGE)
def case_acknowledge(request: HttpRequest, case_id) -> HttpResponse:
    return _act(request, case_id, triage.case_acknowledge, "Case acknowledged: the alert stops.")


@require_POST
@staff_permission(TRIAGE)
def case_claim(request: HttpRequest, case_id) -> HttpResponse:
    return _act(request, case_id, triage.case_claim, "You have taken this case.")


@require_POST
@staff_permission(TRIAGE)
def case_handle(request: HttpRequest, case_id) -> HttpResponse:
    return _act(request, case_id, triage.case_handle, "Case marked handled.")


@require_POST
@staff_permission(REROUTE)
def case_reroute(request: HttpRequest, case_id) -> HttpResponse:
    case = _case_or_404(case_id)
    mitra = Mitra.objects.filter(pk=parse_uuid(request.POST.get("to_mitra", ""))).first()
    if mitra is None:
        messages.error(request, "Choose a mitra from the list.")
    else:
        try:
            triage.case_reroute(case_id=case.pk, to_mitra=mitra, actor=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"Session rerouted to {mitra.display_name}.")
    return redirect("control_center:crisis_case", case_id=case.pk)
