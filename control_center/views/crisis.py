"""Crisis cases: the queue, one case (with the audited transcript, the flagged message marked),
and the supervisor's actions - acknowledge, take, handled, reroute."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Mitra
from accounts.services import audit_record
from chat.models import CrisisCase
from chat.selectors import transcript_messages
from chat.services import triage
from halobestie.errors import ApplicationError
from halobestie.ids import parse_uuid

from .. import selectors_crisis
from ..auth import totp
from .base import client_ip, staff_required

TRANSCRIPT_PERMISSION = "chat.view_transcript"


def _case_or_404(case_id) -> CrisisCase:
    case = (CrisisCase.objects.select_related("session", "session__client", "session__mitra", "claimed_by",
                                              "acknowledged_by", "handled_by")
            .filter(pk=parse_uuid(str(case_id))).first())
    if case is None:
        raise Http404("No such case.")
    return case


@staff_required
def case_list(request: HttpRequest) -> HttpResponse:
    return render(request, "control_center/crisis/list.html", {
        "cases": list(selectors_crisis.open_cases()),
        "handled": list(selectors_crisis.recent_handled_cases()),
    })


@staff_required
def case_detail(request: HttpRequest, case_id) -> HttpResponse:
    case = _case_or_404(case_id)
    view = selectors_crisis.case_view(case)
    transcript, transcript_blocked = None, ""
    if not request.user.has_perm(TRANSCRIPT_PERMISSION):
        transcript_blocked = "permission"
    elif totp.transcript_needs_totp(request):
        transcript_blocked = "totp"
    else:
        # Reading it here is a transcript view like any other: audited before it renders.
        audit_record(actor=request.user, action="transcript.view", target=case.session, ip=client_ip(request),
                     after={"case": str(case.pk)})
        transcript = transcript_messages(case.session)
    return render(request, "control_center/crisis/detail.html", {
        "view": view, "case": case, "session": case.session, "transcript": transcript,
        "transcript_blocked": transcript_blocked,
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
@staff_required
def case_acknowledge(request: HttpRequest, case_id) -> HttpResponse:
    return _act(request, case_id, triage.case_acknowledge, "Case acknowledged: the alert stops.")


@require_POST
@staff_required
def case_claim(request: HttpRequest, case_id) -> HttpResponse:
    return _act(request, case_id, triage.case_claim, "You have taken this case.")


@require_POST
@staff_required
def case_handle(request: HttpRequest, case_id) -> HttpResponse:
    return _act(request, case_id, triage.case_handle, "Case marked handled.")


@require_POST
@staff_required
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
