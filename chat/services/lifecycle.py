"""The session state machine: awaiting_payment → active → closing → closed, or cancelled.

One function per transition. Each is a guarded change (a conditional UPDATE or a row lock
inside a transaction) that acts only if it won, so a task, the sweep and a user racing for
the same transition make it happen exactly once. Side effects leave on commit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.selectors import platform_settings
from accounts.services import audit_record
from halobestie.errors import ApplicationError
from halobestie.timers import schedule_at
from notifications.services import notify_on_commit
from pairing.models import MitraPresence
from pairing.services import (
    lock_mitra_capacity,
    pairing_offer_waiting_requests,
    pairing_request_claim,
    pairing_request_mark_matched,
)

from .. import (
    events,
    hooks,
    tasks,  # chat.tasks imports this module back: a module import, used at call time
)
from ..models import LIVE_STATES, Session, SessionAssignment, SessionClosure, SessionEvent
from ..shapes import session_data
from .messages import message_post_system

logger = logging.getLogger(__name__)

END_REASON_TEXT = {"client": "session_ended_by_client", "mitra": "session_ended_by_mitra"}


def _next_warning_at(ends_at: datetime | None, now: datetime) -> datetime | None:
    if ends_at is None:
        return None
    for offset in platform_settings().warning_offsets:  # largest first
        moment = ends_at - timedelta(seconds=offset)
        if moment > now:
            return moment
    return None


def _schedule_clock(session: Session) -> None:
    if session.state == Session.State.ACTIVE:
        schedule_at(tasks.session_reach_closing, session.ends_at, session_id=str(session.id))
        schedule_at(tasks.session_warn, session.next_warning_at, session_id=str(session.id))
    elif session.state == Session.State.CLOSING:
        schedule_at(tasks.session_reach_closed, session.closing_ends_at, session_id=str(session.id))
    elif session.state == Session.State.AWAITING_PAYMENT:
        schedule_at(tasks.session_payment_timeout, session.payment_due_at, session_id=str(session.id))


def _timeline(session: Session, kind: str, **data) -> None:
    SessionEvent.objects.create(session=session, kind=kind, data=data)


def _reload(session_id) -> Session:
    return Session.objects.select_related("client", "mitra").get(pk=session_id)


def _after_change(session: Session, system_code: str | None) -> None:
    if system_code:
        message_post_system(session=session, code=system_code)
    events.session_updated(session)
    _schedule_clock(session)


# --- creation ----------------------------------------------------------------------------

def session_start_from_offer(*, request_id, mitra) -> Session:
    """A mitra accepts an offer. One transaction: pairing claims the request (first accept
    wins, capacity checked under the mitra's presence lock), chat creates the session and
    its first assignment, pairing marks the request matched and tells the client."""
    now = timezone.now()
    with transaction.atomic():
        request = pairing_request_claim(request_id=request_id, mitra=mitra, now=now)
        session = _session_create(request=request, mitra=mitra, now=now)
        session = Session.objects.select_related("client", "mitra").get(pk=session.pk)
        pairing_request_mark_matched(request=request, mitra=mitra, session=session,
                                     session_payload=session_data(session, "client"), now=now)
    return session


def _session_create(*, request, mitra, now: datetime) -> Session:
    settings_row = platform_settings()
    if request.free_trial:
        minutes, price = settings_row.free_trial_minutes, 0
    else:
        minutes, price = request.tier.minutes, request.tier.price
    session = Session(
        client_id=request.client_id, mitra=mitra, tier=request.tier, free_trial=request.free_trial,
        minutes=minutes, price=price, matched_at=now,
    )
    if request.free_trial:
        session.state = Session.State.ACTIVE
        session.started_at = now
        session.ends_at = now + timedelta(minutes=minutes)
        session.next_warning_at = _next_warning_at(session.ends_at, now)
    else:
        session.state = Session.State.AWAITING_PAYMENT
        session.payment_due_at = now + timedelta(seconds=settings_row.payment_timeout)
    session.save()
    session.client = request.client
    SessionAssignment.objects.create(session=session, mitra=mitra, assigned_at=now)
    _timeline(session, "matched", mitra_id=str(mitra.id), free_trial=request.free_trial)
    if request.free_trial:
        message_post_system(session=session, code="session_active")
    else:
        hooks.SESSION_BORN_UNPAID(session=session)
    _schedule_clock(session)
    return session


# --- transitions -------------------------------------------------------------------------

def session_activate_paid(*, session_id, now: datetime | None = None) -> Session | None:
    """awaiting_payment → active when the session's payment is PAID. The clock starts now."""
    now = now or timezone.now()
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(pk=session_id).first()
        if session is None or session.state != Session.State.AWAITING_PAYMENT:
            return None
        session.state = Session.State.ACTIVE
        session.started_at = now
        session.ends_at = now + timedelta(minutes=session.minutes)
        session.next_warning_at = _next_warning_at(session.ends_at, now)
        session.payment_due_at = None
        session.save(update_fields=["state", "started_at", "ends_at", "next_warning_at",
                                    "payment_due_at", "updated_at"])
        _timeline(session, "paid")
        session = _reload(session.pk)
        _after_change(session, "session_paid")
        notify_on_commit("session_started", session=session, to=("mitra",))
    return session


def session_begin_closing(*, session_id, now: datetime | None = None) -> bool:
    """active → closing once ends_at has passed (the goodbye window starts)."""
    now = now or timezone.now()
    goodbye = timedelta(seconds=platform_settings().goodbye_window)
    with transaction.atomic():
        won = Session.objects.filter(pk=session_id, state=Session.State.ACTIVE, ends_at__lte=now).update(
            state=Session.State.CLOSING, closing_ends_at=F("ends_at") + goodbye, next_warning_at=None,
            updated_at=now,
        )
        if not won:
            return False
        session = _reload(session_id)
        _timeline(session, "closing")
        _after_change(session, "session_closing")
    return True


def _close(session: Session, *, closed_by: str, reason: str, now: datetime, note: str = "",
           system_code: str = "session_closed", state: str = Session.State.CLOSED) -> Session:
    """Everything a session reaching `closed`/`cancelled` brings, under its lock (the
    caller's guarded UPDATE or row lock): the closure, the end of the current assignment,
    billing's reaction (the hook), the system message, the events."""
    closure = SessionClosure.objects.create(session=session, closed_by=closed_by, reason=reason, note=note[:500],
                                            closed_at=now)
    SessionAssignment.objects.filter(session_id=session.pk, ended_at__isnull=True).update(
        ended_at=now, end_reason=SessionAssignment.EndReason.SESSION_ENDED)
    Session.objects.filter(pk=session.pk).update(mitra_away_since=None, reroute_needed_since=None,
                                                 reroute_reason="", unserved_since=None)
    _timeline(session, state, closed_by=closed_by, reason=reason)
    session = _reload(session.pk)
    hooks.SESSION_ENDED(session=session, closure=closure)
    _after_change(session, system_code)
    notify_on_commit("session_closed", session=session, to=("client", "mitra"))
    pairing_offer_waiting_requests(mitra_id=session.mitra_id)  # a slot just freed up
    return session


def session_close_after_goodbye(*, session_id, now: datetime | None = None) -> bool:
    """closing → closed once the goodbye window is over."""
    now = now or timezone.now()
    with transaction.atomic():
        won = Session.objects.filter(
            pk=session_id, state=Session.State.CLOSING, closing_ends_at__lte=now
        ).update(state=Session.State.CLOSED, closed_at=now, updated_at=now)
        if not won:
            return False
        _close(Session.objects.get(pk=session_id), closed_by="system", reason="time_up", now=now)
    return True


def session_cancel_unpaid(*, session_id, now: datetime | None = None) -> bool:
    """awaiting_payment → cancelled at payment_timeout; frees the mitra's slot."""
    now = now or timezone.now()
    with transaction.atomic():
        won = Session.objects.filter(
            pk=session_id, state=Session.State.AWAITING_PAYMENT, payment_due_at__lte=now
        ).update(state=Session.State.CANCELLED, closed_at=now, updated_at=now)
        if not won:
            return False
        session = Session.objects.get(pk=session_id)
        _close(session, closed_by="system", reason="payment_timeout", now=now,
               system_code="session_cancelled", state=Session.State.CANCELLED)
    return True


def session_end(*, session_id, by, reason: str = "") -> Session:
    """Either participant ends the session early, if their control-center toggle allows.

    A client may also walk away from a session still awaiting payment (it is cancelled).
    """
    role = by.role
    now = timezone.now()
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(pk=session_id).first()
        if session is None or not _is_participant(session, by):
            raise ApplicationError("not_found", "Session not found.")
        if role == "client" and session.state == Session.State.AWAITING_PAYMENT:
            session.state = Session.State.CANCELLED
            session.closed_at = now
            session.payment_due_at = None
            session.save(update_fields=["state", "closed_at", "payment_due_at", "updated_at"])
            return _close(session, closed_by="client", reason="cancelled_by_client", now=now,
                          note=reason, system_code="session_cancelled", state=Session.State.CANCELLED)
        if session.state not in (Session.State.ACTIVE, Session.State.CLOSING):
            raise ApplicationError("invalid_state", f"The session is {session.state}.")
        settings_row = platform_settings()
        allowed = settings_row.client_can_end_early if role == "client" else settings_row.mitra_can_end_early
        if not allowed:
            raise ApplicationError("early_end_not_allowed", "Ending the session early is turned off.")
        session.state = Session.State.CLOSED
        session.closed_at = now
        session.next_warning_at = None
        session.save(update_fields=["state", "closed_at", "next_warning_at", "updated_at"])
        return _close(session, closed_by=role, reason="early_end", now=now, note=reason,
                      system_code=END_REASON_TEXT[role])


def session_force_close(*, session_id, actor, reason: str = "staff", note: str = "") -> Session:
    """Staff (or a care rule) closes a live session now."""
    now = timezone.now()
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(pk=session_id).first()
        if session is None:
            raise ApplicationError("not_found", "Session not found.")
        if session.state not in LIVE_STATES:
            raise ApplicationError("invalid_state", f"The session is already {session.state}.")
        before = session.state
        closed_by = "staff" if actor is not None else "system"
        session.state = Session.State.CLOSED
        session.closed_at = now
        session.next_warning_at = None
        session.save(update_fields=["state", "closed_at", "next_warning_at", "updated_at"])
        if actor is not None:
            audit_record(actor=actor, action="session.force_close", target=session,
                         before={"state": before}, after={"state": "closed", "note": note})
        return _close(session, closed_by=closed_by, reason=reason, now=now, note=note,
                      system_code="session_closed_by_staff" if actor is not None else "session_closed")


def session_extend(*, session_id, minutes: int, now: datetime | None = None) -> Session | None:
    """An extension was paid: ends_at moves forward; a closing session is active again."""
    now = now or timezone.now()
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(pk=session_id).first()
        if session is None or session.state not in (Session.State.ACTIVE, Session.State.CLOSING):
            return None
        base = session.ends_at if session.state == Session.State.ACTIVE else max(session.ends_at, now)
        session.ends_at = base + timedelta(minutes=minutes)
        session.state = Session.State.ACTIVE
        session.closing_ends_at = None
        session.next_warning_at = _next_warning_at(session.ends_at, now)
        session.save(update_fields=["ends_at", "state", "closing_ends_at", "next_warning_at", "updated_at"])
        _timeline(session, "extended", minutes=minutes, ends_at=session.ends_at.isoformat())
        session = _reload(session.pk)
        _after_change(session, "session_extended")
    return session


def session_send_warning(*, session_id, now: datetime | None = None) -> bool:
    """`session.ending_soon` at each configured offset, once each (compare-and-swap)."""
    now = now or timezone.now()
    with transaction.atomic():
        session = Session.objects.filter(pk=session_id, state=Session.State.ACTIVE,
                                         next_warning_at__lte=now).first()
        if session is None:
            return False
        following = _next_warning_at(session.ends_at, now)
        won = Session.objects.filter(pk=session.pk, state=Session.State.ACTIVE,
                                     next_warning_at=session.next_warning_at).update(
            next_warning_at=following)
        if not won:
            return False
        if session.ends_at <= now:
            return False  # too late to warn; closing is next
        session = _reload(session.pk)
        events.session_ending_soon(session)
        notify_on_commit("session_ending_soon", session=session, to=("client", "mitra"))
        if following is not None:
            schedule_at(tasks.session_warn, following, session_id=str(session.pk))
    return True


def session_sweep_overdue(now: datetime | None = None) -> int:
    """Every overdue session transition, idempotently. The clock's safety net."""
    now = now or timezone.now()
    done = 0
    for sid in Session.objects.filter(state="awaiting_payment", payment_due_at__lte=now).values_list("pk", flat=True)[:500]:
        done += session_cancel_unpaid(session_id=sid, now=now)
    for sid in Session.objects.filter(state="active", next_warning_at__lte=now).values_list("pk", flat=True)[:500]:
        done += session_send_warning(session_id=sid, now=now)
    for sid in Session.objects.filter(state="active", ends_at__lte=now).values_list("pk", flat=True)[:500]:
        done += session_begin_closing(session_id=sid, now=now)
    for sid in Session.objects.filter(state="closing", closing_ends_at__lte=now).values_list("pk", flat=True)[:500]:
        done += session_close_after_goodbye(session_id=sid, now=now)
    return done


def _is_participant(session: Session, user) -> bool:
    if user.role == "client":
        return session.client_id == user.id
    return session.mitra_id == user.id


# --- reroute -----------------------------------------------------------------------------

def current_mitra_is_back(session: Session) -> bool:
    """Under the session's lock: the session waits because its mitra was away, but the
    mitra is online again (its presence committed, the hook clearing the session has not
    run yet). Then nothing moves: the hook clears it."""
    if session.reroute_reason != "mitra_offline":
        return False
    return MitraPresence.objects.filter(mitra_id=session.mitra_id, status=MitraPresence.Status.ONLINE).exists()


_ASSIGNMENT_END = {
    "mitra_no_show": SessionAssignment.EndReason.MITRA_NO_SHOW,
    "mitra_offline": SessionAssignment.EndReason.MITRA_OFFLINE,
    "mitra_deactivated": SessionAssignment.EndReason.MITRA_DEACTIVATED,
}


def session_reroute(*, session_id, to_mitra, actor=None, reason: str = "staff",
                    only_if_needed: bool = False) -> Session | None:
    """Hand a live session to another available mitra. Capacity is checked under the new
    mitra's presence lock, the same as an accept. The old mitra loses access at once: its
    assignment ends, the new one begins (its no-show clock starts now).

    If the client was without a mitra (`unserved_since`: no-show, mitra away, deactivated),
    the clock does not charge for that gap: `ends_at` moves forward by it, never more.
    `only_if_needed`: the automatic reroute; under the lock it acts only if the session
    still waits for one (the mitra may have come back since it was chosen): else None."""
    now = timezone.now()
    with transaction.atomic():
        session = Session.objects.select_for_update().select_related("client", "mitra").filter(pk=session_id).first()
        if session is None:
            raise ApplicationError("not_found", "Session not found.")
        if only_if_needed and (session.reroute_needed_since is None or session.state not in LIVE_STATES):
            return None
        if only_if_needed and current_mitra_is_back(session):
            return None
        if session.state not in LIVE_STATES:
            raise ApplicationError("invalid_state", f"The session is {session.state}.")
        if session.mitra_id == to_mitra.id:
            raise ApplicationError("conflict", "The session is already with this mitra.")
        lock_mitra_capacity(mitra=to_mitra, require_available=True)
        old_mitra = session.mitra
        credited = 0
        fields = ["mitra", "last_mitra_message_at", "mitra_away_since", "reroute_needed_since", "reroute_reason",
                  "unserved_since", "updated_at"]
        if session.unserved_since is not None and session.ends_at is not None:
            credited = max(0, int((now - session.unserved_since).total_seconds()))
            if credited:
                if session.state == Session.State.CLOSING:
                    session.state = Session.State.ACTIVE
                    session.closing_ends_at = None
                session.ends_at = max(session.ends_at, now) + timedelta(seconds=credited)
                session.next_warning_at = _next_warning_at(session.ends_at, now)
                fields += ["ends_at", "state", "closing_ends_at", "next_warning_at"]
        end_reason = _ASSIGNMENT_END.get(session.reroute_reason, SessionAssignment.EndReason.REROUTED)
        SessionAssignment.objects.filter(session=session, ended_at__isnull=True).update(
            ended_at=now, end_reason=end_reason)
        SessionAssignment.objects.create(session=session, mitra=to_mitra, assigned_at=now,
                                         credited_seconds=credited)
        session.mitra = to_mitra
        session.last_mitra_message_at = None
        session.mitra_away_since = None
        session.reroute_needed_since = None
        session.reroute_reason = ""
        session.unserved_since = None
        session.save(update_fields=fields)
        _timeline(session, "rerouted", from_mitra=str(old_mitra.id), to_mitra=str(to_mitra.id), reason=reason,
                  credited_seconds=credited)
        if actor is not None:
            audit_record(actor=actor, action="session.reroute", target=session,
                         before={"mitra": str(old_mitra.id)}, after={"mitra": str(to_mitra.id)})
        session = _reload(session.pk)
        message_post_system(session=session, code="session_rerouted")
        events.session_reassigned(session, old_mitra_id=old_mitra.id)
        events.session_updated(session)
        if credited:
            _schedule_clock(session)
        pairing_offer_waiting_requests(mitra_id=old_mitra.id)  # its slot just freed up
    return session



