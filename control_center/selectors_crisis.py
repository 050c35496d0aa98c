"""Reads for crisis triage: open cases for the dashboard, one case with what a supervisor needs
to decide, and reroute candidates with their live and flagged load."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.models import Mitra
from chat.models import LIVE_STATES, CrisisCase, Message, Session
from pairing.selectors import available_mitras


def open_cases() -> QuerySet[CrisisCase]:
    """Open cases, the ones nobody acknowledged first, high before medium, oldest first."""
    return (
        CrisisCase.objects.exclude(state=CrisisCase.State.HANDLED)
        .select_related("session", "session__mitra", "claimed_by", "acknowledged_by")
        .annotate(
            state_rank=Case(When(state="new", then=Value(0)), default=Value(1), output_field=IntegerField()),
            level_rank=Case(When(level="high", then=Value(0)), default=Value(1), output_field=IntegerField()),
        )
        .order_by("state_rank", "level_rank", "created_at")
    )


def recent_handled_cases(limit: int = 25) -> QuerySet[CrisisCase]:
    return (CrisisCase.objects.filter(state=CrisisCase.State.HANDLED)
            .select_related("session", "handled_by").order_by("-handled_at")[:limit])


def cases_by_session(cases) -> dict:
    return {case.session_id: case for case in cases}


def with_load(mitras: QuerySet[Mitra]) -> QuerySet[Mitra]:
    live = Q(sessions__state__in=LIVE_STATES)
    return mitras.annotate(
        live_load=Count("sessions", filter=live, distinct=True),
        flagged_load=Count("sessions", filter=live & ~Q(sessions__risk_level=""), distinct=True),
    )


def reroute_candidates(session: Session) -> list[Mitra]:
    """Mitras who could take this session now (online, below capacity and the flagged limit,
    not blocked by the client), least loaded with flagged sessions first, then least live."""
    ids = available_mitras(exclude_ids=[session.mitra_id], for_client_id=session.client_id).values("id")
    return list(with_load(Mitra.objects.filter(id__in=ids)).order_by("flagged_load", "live_load", "display_name"))


@dataclass
class CaseView:
    case: CrisisCase
    session: Session
    mitra_load: Mitra
    mitra_last_reply_at: datetime | None
    mitra_replied_since_flag: bool
    seconds_left: int | None
    candidates: list[Mitra]


def case_view(case: CrisisCase, now: datetime | None = None) -> CaseView:
    now = now or timezone.now()
    session = case.session
    last_reply = (Message.objects.filter(session=session, sender="mitra", sender_mitra_id=session.mitra_id)
                  .order_by("-seq").values_list("created_at", flat=True).first())
    flagged_at = case.escalated_at or case.created_at
    left = None
    if session.state == "active" and session.ends_at:
        left = max(0, int((session.ends_at - now).total_seconds()))
    elif session.state == "closing" and session.closing_ends_at:
        left = max(0, int((session.closing_ends_at - now).total_seconds()))
    return CaseView(
        case=case, session=session,
        mitra_load=with_load(Mitra.objects.filter(pk=session.mitra_id)).get(),
        mitra_last_reply_at=last_reply,
        mitra_replied_since_flag=bool(last_reply and last_reply > flagged_at),
        seconds_left=left,
        candidates=reroute_candidates(session) if session.state in LIVE_STATES else [],
    )
