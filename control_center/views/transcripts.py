"""The transcript page: permission-gated, second-factor checked, and audited before it
renders — a view that is not in the audit log never happened."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.services import audit_record
from chat.models import CrisisCase
from chat.selectors import transcript_messages
from halobestie.ids import parse_uuid

from ..auth import totp
from ..roles import TRANSCRIPT
from .base import client_ip, session_or_404, staff_permission


def _case_of(session, case_id):
    """The crisis case named by ?case= (from the case page), if it belongs to this session."""
    pk = parse_uuid(case_id) if case_id else None
    return CrisisCase.objects.filter(pk=pk, session=session).first() if pk else None


@staff_permission(TRANSCRIPT, audit_action="transcript.denied", audit_target=("session", "session_id"))
def session_transcript(request: HttpRequest, session_id) -> HttpResponse:
    session = session_or_404(session_id)
    ip = client_ip(request)
    if totp.transcript_needs_totp(request):
        if totp.enrolled_totp(request.user) is None:
            messages.info(request, "Transcripts need two-factor sign-in: set it up first.")
            return redirect("control_center:totp_setup")
        return redirect(reverse("control_center:totp_verify") + "?" + urlencode({"next": request.get_full_path()}))
    case = _case_of(session, request.GET.get("case"))
    audit_record(actor=request.user, action="transcript.view", target=session, ip=ip,
                 after={"case": str(case.pk)} if case else None)
    context = {"session": session, "messages_list": transcript_messages(session), "case": case,
               "flagged_pk": case.message_id if case else None}
    return render(request, "control_center/sessions/transcript.html", context)
