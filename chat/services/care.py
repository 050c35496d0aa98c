"""Care and safety on the chat path: crisis signals, mitra no-show and automatic reroute,
a client's block and report.

Nothing here stores an extra copy of what a client wrote: a crisis hit records only the
level and categories.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Q
from django.utils import timezone

from accounts.selectors import platform_settings
from accounts.services import audit_record
from chat.crisis.detector import assess_lazily
from halobestie.errors import ApplicationError
from pairing.models import MitraBlock
from pairing.selectors import available_mitras

from .. import (
    events,
    tasks,  # chat.tasks imports the services back: a module import, used at call time
)
from ..models import LIVE_STATES, CrisisCase, Feedback, Message, Session, SessionAssignment, SessionEvent, SessionReport
from ..selectors import session_for
from .lifecycle import current_mitra_is_back, session_force_close, session_reroute
from .messages import message_post_system, mitra_presence_clears

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

CONTEXT_MESSAGES = 3        # the client's previous messages read with the new one


def crisis_check(*, session: Session, message) -> None:
    """Check a client's message once it is stored: queued after the send's commit, so the
    check never delays the send's transaction nor fails it (any error is logged and dropped;
    a model failure falls back to the lexicon inside ``assess_lazily``)."""
    session_id, message_pk = session.pk, message.pk
    transaction.on_commit(lambda: crisis_checks_queue([(session_id, message_pk)]))


def crisis_checks_queue(stored: list[tuple]) -> None:
    """Have a worker check stored client messages, (session id, message pk) each: scoring
    with the context takes about a millisecond of CPU, which is not the socket process's to
    spend (bench/FINDINGS.md, N6). Inline in the embedded mode and the tests (eager tasks),
    and inline too when the broker cannot take the task: a check is never skipped."""
    try:
        tasks.crisis_check_messages.apply_async(args=[[[str(sid), pk] for sid, pk in stored]])
    except Exception as exc:  # noqa: BLE001 - the broker is down: check here rather than not at all
        logger.warning("crisis check not queued (%s): checking inline", type(exc).__name__)
        crisis_check_many(stored)


def client_context(session_id, before_seq: int, limit: int = CONTEXT_MESSAGES) -> list[str]:
    """The client's previous messages in the session, oldest first (text stays in memory)."""
    bodies = list(Message.objects.filter(session_id=session_id, sender="client", seq__lt=before_seq,
                                         body_purged_at__isnull=True)
                  .order_by("-seq").values_list("body", flat=True)[:limit])
    return bodies[::-1]


def crisis_check_now(*, session_id, message_pk) -> CrisisCase | None:
    """Score the message with the client's previous messages; on a signal above the session's
    level, raise it (escalate-only), open or escalate the session's case (level, categories,
    message id - no text), tell the mitra and post the crisis resources once."""
    message = Message.objects.only("seq", "session_id", "body", "sender").filter(pk=message_pk).first()
    if message is None or message.sender != "client":
        return None
    hit = assess_lazily(message.body, lambda: client_context(session_id, message.seq))
    if hit is None:
        return None
    return _raise_risk(session_id, message, hit)


def crisis_check_many(stored: list[tuple]) -> int:
    """`crisis_check_now` for several stored messages, (session id, message pk) each, as the
    worker gets them: their texts in one query; a message's context is read only when it can
    change the answer (`assess_lazily`: most messages are decided alone). Returns how many
    raised a session's risk. A failure of one check is logged; the rest go on."""
    pks = [int(pk) for _, pk in stored]
    messages = list(Message.objects.only("seq", "session_id", "body", "sender")
                    .filter(pk__in=pks, sender="client", body_purged_at__isnull=True))
    raised = 0
    for message in messages:
        try:
            hit = assess_lazily(message.body, lambda m=message: client_context(m.session_id, m.seq))
            if hit is not None and _raise_risk(message.session_id, message, hit) is not None:
                raised += 1
        except Exception:  # noqa: BLE001 - a failed check must never stop the others
            logger.exception("crisis check failed: session=%s", message.session_id)
    return raised


def _raise_risk(session_id, message: Message, hit) -> CrisisCase | None:
    level = hit.level
    lower = [name for name, rank in _RANK.items() if rank < _RANK[level]]
    categories = sorted(hit.categories)
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(pk=session_id, risk_level__in=lower).first()
        if session is None:
            return None
        now = timezone.now()
        first = session.first_flagged_at is None
        session.risk_level = level
        session.first_flagged_at = session.first_flagged_at or now
        session.save(update_fields=["risk_level", "first_flagged_at", "updated_at"])
        case = _open_or_escalate_case(session, message, level, categories, now)
        SessionEvent.objects.create(session_id=session.pk, kind="risk_flagged",
                                    data={"level": level, "categories": categories, "case_id": str(case.pk)})
        events.session_risk_flagged(session, level=level, categories=categories, guidance=MITRA_GUIDANCE[level])
        if first:
            message_post_system(session=session, code="crisis_resources",
                                text=platform_settings().crisis_resources_text)
    logger.warning("session flagged: session=%s level=%s categories=%s", session.pk, level, ",".join(categories))
    return case


def _open_or_escalate_case(session, message, level, categories, now) -> CrisisCase:
    """One open case per session: a higher level escalates it and puts it back to `new` (the
    alert repeats until someone acknowledges again); otherwise a new case opens."""
    case = CrisisCase.objects.select_for_update().filter(session=session).exclude(
        state=CrisisCase.State.HANDLED).first()
    if case is None:
        return CrisisCase.objects.create(session=session, message=message, level=level, categories=categories)
    case.level = level
    case.categories = sorted(set(case.categories) | set(categories))
    case.message = message
    case.state = CrisisCase.State.NEW
    case.escalated_at = now
    case.acknowledged_by = None
    case.acknowledged_at = None
    case.oncall_notified_at = None
    case.save()
    return case


# --- presence, grace period, no-show and automatic reroute --------------------------------
#
# Who serves a session is its current assignment. Three rules hand a session away from it,
# each in the timeline:
# - away: the mitra was set offline automatically (no heartbeats). Its live sessions get a
#   grace period (`mitra_grace_period`); a heartbeat, going online or a message within it
#   clears it. Only a mitra still away after it has the session marked for a reroute.
# - no-show: a paid, started session whose current mitra has not written within
#   `mitra_no_show_after` of the later of the assignment and the start.
# - deactivated: at once.
# A marked session is offered to other available mitras; a mitra who comes back first
# (away) or writes first (away, no-show) calls the reroute off. Nobody within
# `pairing_timeout` → closed with that reason, and billing flags a paid payment
# `refund_needed` (hooks.UNSERVED_REASONS). The credit for the wait counts from
# `unserved_since`, which is never before the gap really began.

def mitra_went_away(*, mitra, at: datetime) -> int:
    """pairing: the mitra was set offline automatically. The grace period starts."""
    marked = 0
    for sid in Session.objects.filter(mitra=mitra, state__in=("active", "closing"),
                                      mitra_away_since__isnull=True).values_list("pk", flat=True):
        with transaction.atomic():
            won = Session.objects.filter(pk=sid, mitra=mitra, state__in=("active", "closing"),
                                         mitra_away_since__isnull=True).update(mitra_away_since=at, updated_at=at)
            if won:
                SessionEvent.objects.create(session_id=sid, kind="mitra_away",
                                            data={"mitra_id": str(mitra.id),
                                                  "grace_seconds": platform_settings().mitra_grace_period})
                marked += 1
    return marked


def mitra_came_back(*, mitra) -> int:
    """pairing: the mitra is online again (toggle or resumed heartbeat). Its sessions'
    grace period ends, and a reroute still waiting because it was away is called off."""
    cleared = 0
    waiting = Session.objects.filter(mitra=mitra, state__in=LIVE_STATES).filter(
        Q(mitra_away_since__isnull=False) | Q(reroute_reason="mitra_offline"))
    for sid in waiting.values_list("pk", flat=True):
        with transaction.atomic():
            session = Session.objects.select_for_update().filter(pk=sid, mitra=mitra).first()
            if session is None:
                continue  # rerouted meanwhile
            clears = mitra_presence_clears(session, by_message=False)
            if clears:
                Session.objects.filter(pk=sid).update(**clears, updated_at=timezone.now())
                SessionEvent.objects.create(session_id=sid, kind="mitra_returned", data={"by": "presence"})
                cleared += 1
    return cleared


def mitra_deactivated(*, mitra) -> list:
    """accounts: staff deactivated the mitra (inside that transaction). Every live session
    of the mitra needs another one now; the attempt runs right after commit, the sweep
    keeps trying until the pairing timeout."""
    now = timezone.now()
    ids = list(Session.objects.filter(mitra=mitra, state__in=LIVE_STATES).values_list("pk", flat=True))
    for sid in ids:
        Session.objects.filter(pk=sid, mitra=mitra, state__in=LIVE_STATES).update(
            reroute_needed_since=now, reroute_reason="mitra_deactivated", unserved_since=now, mitra_away_since=None,
            updated_at=now)
        SessionEvent.objects.create(session_id=sid, kind="reroute_needed",
                                    data={"reason": "mitra_deactivated", "mitra_id": str(mitra.id)})

    def reroute_now():
        for sid in ids:
            session_auto_reroute(session_id=sid)

    transaction.on_commit(reroute_now, robust=True)
    return ids


def _mark_grace_expired(now: datetime) -> int:
    cutoff = now - timedelta(seconds=platform_settings().mitra_grace_period)
    done = 0
    due = Session.objects.filter(state__in=("active", "closing"), mitra_away_since__lte=cutoff,
                                 reroute_needed_since__isnull=True)
    for sid, away_since in due.values_list("pk", "mitra_away_since")[:500]:
        with transaction.atomic():
            won = Session.objects.filter(pk=sid, mitra_away_since=away_since, reroute_needed_since__isnull=True,
                                         state__in=("active", "closing")).update(
                reroute_needed_since=now, reroute_reason="mitra_offline", unserved_since=away_since)
            if won:
                SessionEvent.objects.create(session_id=sid, kind="reroute_needed",
                                            data={"reason": "mitra_offline", "away_since": away_since.isoformat()})
                done += 1
    return done


def _mark_no_shows(now: datetime) -> int:
    cutoff = now - timedelta(seconds=platform_settings().mitra_no_show_after)
    due = SessionAssignment.objects.filter(
        ended_at__isnull=True, first_message_at__isnull=True, assigned_at__lte=cutoff,
        session__state="active", session__free_trial=False, session__started_at__lte=cutoff,
        session__reroute_needed_since__isnull=True,
    ).values_list("session_id", "mitra_id", "assigned_at", "session__started_at")
    done = 0
    for sid, mitra_id, assigned_at, started_at in due[:500]:
        since = max(assigned_at, started_at)
        with transaction.atomic():
            won = Session.objects.filter(pk=sid, mitra_id=mitra_id, state="active", last_mitra_message_at__isnull=True,
                                         reroute_needed_since__isnull=True).update(
                reroute_needed_since=now, reroute_reason="mitra_no_show", unserved_since=since)
            if won:
                SessionEvent.objects.create(session_id=sid, kind="reroute_needed",
                                            data={"reason": "mitra_no_show", "mitra_id": str(mitra_id)})
                done += 1
    return done


def _candidates(session: Session):
    return (available_mitras(for_client_id=session.client_id, exclude_ids=[session.mitra_id])
            .order_by("live", "?")[:5])


def session_auto_reroute(*, session_id, now: datetime | None = None) -> str:
    """Try to hand a waiting session to another available mitra; give up (closing it with
    the reason, which billing turns into `refund_needed` for a paid session) after the
    pairing timeout. Returns what happened."""
    now = now or timezone.now()
    session = Session.objects.filter(pk=session_id, state__in=LIVE_STATES,
                                     reroute_needed_since__isnull=False).first()
    if session is None:
        return "nothing"
    for mitra in _candidates(session):
        try:
            moved = session_reroute(session_id=session.pk, to_mitra=mitra, reason=session.reroute_reason,
                                    only_if_needed=True)
        except ApplicationError:
            continue  # lost a race for that mitra's last slot: try the next
        return "rerouted" if moved is not None else "nothing"
    if session.reroute_needed_since + timedelta(seconds=platform_settings().pairing_timeout) > now:
        return "waiting"
    with transaction.atomic():
        locked = Session.objects.select_for_update().filter(pk=session.pk).first()
        if (locked is None or locked.state not in LIVE_STATES or locked.reroute_needed_since is None
                or current_mitra_is_back(locked)):
            return "nothing"  # the mitra came back, or the session ended, meanwhile
        session_force_close(session_id=session.pk, actor=None, reason=locked.reroute_reason,
                            note="No mitra took over the session.")
    return "closed"


def care_sweep(now: datetime | None = None) -> int:
    now = now or timezone.now()
    done = _mark_no_shows(now) + _mark_grace_expired(now)
    waiting = Session.objects.filter(state__in=LIVE_STATES, reroute_needed_since__isnull=False)
    for sid in waiting.values_list("pk", flat=True)[:200]:
        done += session_auto_reroute(session_id=sid, now=now) in ("rerouted", "closed")
    return done


# --- the client's choices ----------------------------------------------------------------

def mitra_block(*, client, session_id) -> None:
    """"Don't match me with this mitra again" — from one of the client's sessions."""
    session = session_for(client, session_id)
    MitraBlock.objects.get_or_create(client=client, mitra_id=session.mitra_id)


def mitra_unblock(*, client, session_id) -> None:
    session = session_for(client, session_id)
    MitraBlock.objects.filter(client=client, mitra_id=session.mitra_id).delete()


def session_report(*, client, session_id, reason: str, note: str = "") -> SessionReport:
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
    since = timezone.now() - timedelta(days=days)
    row = Feedback.objects.filter(mitra=mitra, created_at__gte=since).aggregate(avg=Avg("rating"), n=Count("id"))
    return {"average": round(row["avg"], 2) if row["avg"] is not None else None, "count": row["n"],
            "flagged_sessions": Session.objects.filter(mitra=mitra, created_at__gte=since).exclude(
                Q(risk_level="")).count()}
