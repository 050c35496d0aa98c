"""Care and safety on the chat path: crisis signals, mitra no-show and automatic reroute,
a client's block and report.

Nothing here stores an extra copy of what a client wrote: a crisis hit records only the
level and categories.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.selectors import platform_settings
from chat.crisis import detect
from halobestie.errors import ApplicationError
from halobestie.realtime import mitra_group, send_on_commit

from ..models import LIVE_STATES, Session, SessionEvent, SessionReport
from .messages import message_post_system

logger = logging.getLogger(__name__)

_RANK = {"": 0, "medium": 1, "high": 2}
MITRA_GUIDANCE = {
    "high": (
        "Klien menunjukkan tanda krisis serius. Tetap tenang dan hadir, tanyakan langsung soal "
        "keselamatannya, jangan tinggalkan percakapan, dan arahkan ke layanan darurat (112 / 119 ext 8). "
        "Tim Halo Bestie sudah diberi tahu."
    ),
    "medium": (
        "Klien menunjukkan tanda-tanda tekanan berat. Dengarkan dengan empati, tanyakan soal "
        "keselamatannya, dan tawarkan sumber bantuan profesional bila perlu."
    ),
}


# --- crisis signals ----------------------------------------------------------------------

def crisis_check(*, session: Session, message) -> None:
    """Check a client's message against the crisis lexicon (in memory). Escalate-only: a
    session is flagged once per level; the mitra gets guidance, the client resources."""
    hit = detect(message.body)
    if hit is None:
        return
    level = hit.level
    lower = [name for name, rank in _RANK.items() if rank < _RANK[level]]
    now = timezone.now()
    won = Session.objects.filter(pk=session.pk, risk_level__in=lower).update(risk_level=level, updated_at=now)
    if not won:
        return
    first = Session.objects.filter(pk=session.pk, first_flagged_at__isnull=True).update(first_flagged_at=now)
    categories = sorted(hit.categories)
    SessionEvent.objects.create(session_id=session.pk, kind="risk_flagged",
                                data={"level": level, "categories": categories})
    send_on_commit([(mitra_group(session.mitra_id), "session.risk_flagged", {
        "session_id": str(session.pk), "risk_level": level, "categories": categories,
        "guidance": MITRA_GUIDANCE[level],
    })])
    if first:
        message_post_system(session=session, code="crisis_resources",
                            text=platform_settings().crisis_resources_text)
    logger.warning("session flagged: session=%s level=%s categories=%s", session.pk, level, ",".join(categories))


# --- no-show and automatic reroute --------------------------------------------------------

def mitra_went_offline(*, mitra) -> None:
    """Auto-offline during live sessions: each of them needs another mitra."""
    Session.objects.filter(mitra=mitra, state__in=("active", "closing"), reroute_needed_since__isnull=True).update(
        reroute_needed_since=timezone.now(), reroute_reason="mitra_offline")


def _mark_no_shows(now: datetime) -> int:
    cutoff = now - timedelta(seconds=platform_settings().mitra_no_show_after)
    return Session.objects.filter(
        state="active", free_trial=False, started_at__lte=cutoff, last_mitra_message_at__isnull=True,
        reroute_needed_since__isnull=True,
    ).update(reroute_needed_since=now, reroute_reason="mitra_no_show")


def _candidates(session: Session):
    from pairing.selectors import available_mitras

    return (available_mitras(for_client_id=session.client_id, exclude_ids=[session.mitra_id])
            .order_by("live", "?")[:5])


def _credit_since(session: Session) -> datetime:
    # A no-show mitra never served the client: the whole wait since the start is credited.
    if session.reroute_reason == "mitra_no_show" and session.started_at:
        return session.started_at
    return session.reroute_needed_since


def session_auto_reroute(*, session_id, now: datetime | None = None) -> str:
    """Try to hand a waiting session to another available mitra; give up (and flag the
    payment for refund) after the pairing timeout. Returns what happened."""
    from .lifecycle import session_force_close, session_reroute

    now = now or timezone.now()
    session = Session.objects.filter(pk=session_id, state__in=LIVE_STATES,
                                     reroute_needed_since__isnull=False).first()
    if session is None:
        return "nothing"
    for mitra in _candidates(session):
        try:
            session_reroute(session_id=session.pk, to_mitra=mitra, reason=session.reroute_reason,
                            credit_since=_credit_since(session))
            return "rerouted"
        except ApplicationError:
            continue  # lost a race for that mitra's last slot: try the next
    if session.reroute_needed_since + timedelta(seconds=platform_settings().pairing_timeout) > now:
        return "waiting"
    with transaction.atomic():
        try:
            session_force_close(session_id=session.pk, actor=None, reason="mitra_no_show",
                                note=session.reroute_reason)
        except ApplicationError:
            return "nothing"
        _refund_needed(session, "No mitra took over the session.")
    return "closed"


def _refund_needed(session: Session, note: str) -> None:
    from billing.models import Transaction

    Transaction.objects.filter(session=session, status=Transaction.Status.PAID).update(
        status=Transaction.Status.REFUND_NEEDED, note=note)


def care_sweep(now: datetime | None = None) -> int:
    now = now or timezone.now()
    done = _mark_no_shows(now)
    waiting = Session.objects.filter(state__in=("active", "closing"), reroute_needed_since__isnull=False)
    for sid in waiting.values_list("pk", flat=True)[:200]:
        done += session_auto_reroute(session_id=sid, now=now) in ("rerouted", "closed")
    return done


# --- the client's choices ----------------------------------------------------------------

def mitra_block(*, client, session_id) -> None:
    """"Don't match me with this mitra again" — from one of the client's sessions."""
    from pairing.models import MitraBlock

    from ..selectors import session_for

    session = session_for(client, session_id)
    MitraBlock.objects.get_or_create(client=client, mitra_id=session.mitra_id)


def mitra_unblock(*, client, session_id) -> None:
    from pairing.models import MitraBlock

    from ..selectors import session_for

    session = session_for(client, session_id)
    MitraBlock.objects.filter(client=client, mitra_id=session.mitra_id).delete()


def session_report(*, client, session_id, reason: str, note: str = "") -> SessionReport:
    from ..selectors import session_for

    session = session_for(client, session_id)
    if reason not in SessionReport.Reason.values:
        raise ApplicationError("validation_error", "Unknown reason.", fields={"reason": ["Unknown reason."]})
    try:
        with transaction.atomic():
            return SessionReport.objects.create(session=session, client=client, mitra_id=session.mitra_id,
                                                reason=reason, note=(note or "").strip()[:1000])
    except IntegrityError:
        raise ApplicationError("conflict", "This session was already reported.") from None


def session_report_resolve(*, report_id, actor, status: str, resolution_note: str = "") -> SessionReport:
    from accounts.services import audit_record

    if status not in SessionReport.Status.values:
        raise ApplicationError("validation_error", "Unknown status.", fields={"status": ["Unknown status."]})
    with transaction.atomic():
        report = SessionReport.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise ApplicationError("not_found", "Report not found.")
        before = {"status": report.status, "resolution_note": report.resolution_note}
        report.status = status
        report.resolution_note = resolution_note[:1000]
        report.resolved_by = actor if status == SessionReport.Status.RESOLVED else None
        report.save()
        audit_record(actor=actor, action="report.update", target=report, before=before,
                     after={"status": status, "resolution_note": report.resolution_note})
    return report


def mitra_rating_summary(mitra, days: int = 30) -> dict:
    from ..models import Feedback

    since = timezone.now() - timedelta(days=days)
    from django.db.models import Avg

    row = Feedback.objects.filter(mitra=mitra, created_at__gte=since).aggregate(avg=Avg("rating"), n=Count("id"))
    return {"average": round(row["avg"], 2) if row["avg"] is not None else None, "count": row["n"],
            "flagged_sessions": Session.objects.filter(mitra=mitra, created_at__gte=since).exclude(
                Q(risk_level="")).count()}
