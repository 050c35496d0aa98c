"""Crisis cases for staff: acknowledge, claim, handle (each audited), reroute to a mitra chosen
with their load, and the on-call notification for a `high` case nobody acknowledged in time.

A case moves new -> acknowledged -> handled. Claiming ("I take this case") acknowledges a new
case too, and so does marking a new case handled at once. An escalation (medium -> high, care.py) puts an open case back to `new`, so the
control center's alert repeats until someone acknowledges it again.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.services import audit_record
from halobestie.errors import ApplicationError
from halobestie.ids import parse_uuid

from ..models import LIVE_STATES, CrisisCase
from .lifecycle import session_reroute

logger = logging.getLogger(__name__)


def _locked_case(case_id) -> CrisisCase:
    pk = parse_uuid(case_id)
    case = CrisisCase.objects.select_for_update().filter(pk=pk).first() if pk else None
    if case is None:
        raise ApplicationError("not_found", "Case not found.")
    return case


def _snapshot(case: CrisisCase) -> dict:
    return {"state": case.state, "claimed_by": case.claimed_by_id, "level": case.level}


def case_acknowledge(*, case_id, actor) -> CrisisCase:
    """A human has seen the case: the repeating alert stops. Acknowledging twice is a no-op."""
    with transaction.atomic():
        case = _locked_case(case_id)
        if case.state == CrisisCase.State.HANDLED:
            raise ApplicationError("invalid_state", "The case is already handled.")
        if case.state == CrisisCase.State.ACKNOWLEDGED:
            return case
        before = _snapshot(case)
        case.state = CrisisCase.State.ACKNOWLEDGED
        case.acknowledged_by, case.acknowledged_at = actor, timezone.now()
        case.save(update_fields=["state", "acknowledged_by", "acknowledged_at"])
        audit_record(actor=actor, action="crisis_case.acknowledge", target=case, before=before, after=_snapshot(case))
    return case


def case_claim(*, case_id, actor) -> CrisisCase:
    """Take the case: one owner at a time (someone else's claim is refused, not overwritten)."""
    with transaction.atomic():
        case = _locked_case(case_id)
        if case.state == CrisisCase.State.HANDLED:
            raise ApplicationError("invalid_state", "The case is already handled.")
        if case.claimed_by_id and case.claimed_by_id != actor.pk:
            raise ApplicationError("conflict", f"Already taken by {case.claimed_by.email}.")
        before = _snapshot(case)
        now = timezone.now()
        case.claimed_by, case.claimed_at = actor, case.claimed_at or now
        if case.state == CrisisCase.State.NEW:
            case.state = CrisisCase.State.ACKNOWLEDGED
            case.acknowledged_by, case.acknowledged_at = actor, now
        case.save(update_fields=["state", "claimed_by", "claimed_at", "acknowledged_by", "acknowledged_at"])
        audit_record(actor=actor, action="crisis_case.claim", target=case, before=before, after=_snapshot(case))
    return case


def case_handle(*, case_id, actor) -> CrisisCase:
    """The supervisor has dealt with it (checked on the client, rerouted, called for help)."""
    with transaction.atomic():
        case = _locked_case(case_id)
        if case.state == CrisisCase.State.HANDLED:
            raise ApplicationError("invalid_state", "The case is already handled.")
        before = _snapshot(case)
        now = timezone.now()
        if case.state == CrisisCase.State.NEW:       # handled at first sight: acknowledged too
            case.acknowledged_by, case.acknowledged_at = actor, now
        case.state = CrisisCase.State.HANDLED
        case.handled_by, case.handled_at = actor, now
        case.save(update_fields=["state", "handled_by", "handled_at", "acknowledged_by", "acknowledged_at"])
        audit_record(actor=actor, action="crisis_case.handle", target=case, before=before, after=_snapshot(case))
    return case


def case_reroute(*, case_id, to_mitra, actor):
    """Hand the case's live session to another mitra through the session reroute service (which
    holds the mitra's capacity lock: the flagged-session limit applies there too)."""
    case = CrisisCase.objects.filter(pk=parse_uuid(case_id)).select_related("session").first()
    if case is None:
        raise ApplicationError("not_found", "Case not found.")
    if case.session.state not in LIVE_STATES:
        raise ApplicationError("invalid_state", "The session is no longer live.")
    with transaction.atomic():
        session = session_reroute(session_id=case.session_id, to_mitra=to_mitra, actor=actor)
        audit_record(actor=actor, action="crisis_case.reroute", target=case,
                     after={"to_mitra": str(to_mitra.pk), "session": str(case.session_id)})
    return session


# --- on-call --------------------------------------------------------------------------------

def _overdue(now: datetime):
    cutoff = now - timedelta(seconds=settings.CRISIS_ONCALL_AFTER_SECONDS)
    return CrisisCase.objects.filter(
        state=CrisisCase.State.NEW, level="high", oncall_notified_at__isnull=True,
    ).filter(Q(escalated_at__isnull=True, created_at__lte=cutoff) | Q(escalated_at__lte=cutoff))


def oncall_message(case: CrisisCase, waited_seconds: int) -> tuple[str, str]:
    """Subject and body: ids, level, how long, and where to look - never a message or a name."""
    url = settings.CONTROL_CENTER_BASE_URL.rstrip("/") + reverse("control_center:crisis_case", args=[case.pk])
    subject = f"[Halo Bestie] HIGH crisis case unacknowledged for {waited_seconds // 60} min"
    body = (f"A high-level crisis case has not been acknowledged for {waited_seconds} seconds.\n"
            f"Case: {case.pk}\nSession: {case.session_id}\nCategories: {', '.join(case.categories)}\n"
            f"Open it: {url}\n")
    return subject, body


def _deliver(subject: str, body: str, case: CrisisCase) -> None:
    channel = settings.CRISIS_ONCALL_CHANNEL
    if channel == "email":
        if not settings.CRISIS_ONCALL_EMAILS:
            raise RuntimeError("CRISIS_ONCALL_EMAILS is empty")
        send_mail(subject, body, None, settings.CRISIS_ONCALL_EMAILS, fail_silently=False)
    elif channel == "webhook":
        payload = json.dumps({"text": f"{subject}\n{body}", "case_id": str(case.pk), "session_id": str(case.session_id),
                              "level": case.level}).encode()
        req = urllib.request.Request(settings.CRISIS_ONCALL_WEBHOOK_URL, data=payload, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as response:  # noqa: S310 - a configured https URL
            if response.status >= 300:
                raise RuntimeError(f"webhook answered {response.status}")
    elif channel != "off":
        raise RuntimeError(f"unknown CRISIS_ONCALL_CHANNEL {channel!r}")


def oncall_configured() -> bool:
    """E-mail needs recipients, a webhook its URL; "off" (or neither) sends nothing."""
    channel = settings.CRISIS_ONCALL_CHANNEL
    return ((channel == "email" and bool(settings.CRISIS_ONCALL_EMAILS))
            or (channel == "webhook" and bool(settings.CRISIS_ONCALL_WEBHOOK_URL)))


def crisis_oncall_sweep(now: datetime | None = None) -> int:
    """Notify on-call, once per case, for each `high` case still `new` after
    CRISIS_ONCALL_AFTER_SECONDS. Claimed with a conditional UPDATE (one sweep wins); a failed
    delivery releases the claim so the next sweep tries again."""
    now = now or timezone.now()
    if not oncall_configured():
        return 0
    sent = 0
    for case in list(_overdue(now)[:50]):
        if not CrisisCase.objects.filter(pk=case.pk, oncall_notified_at__isnull=True, state="new").update(
                oncall_notified_at=now):
            continue
        started = case.escalated_at or case.created_at
        subject, body = oncall_message(case, int((now - started).total_seconds()))
        try:
            _deliver(subject, body, case)
        except Exception as exc:  # noqa: BLE001 - retried by the next sweep
            CrisisCase.objects.filter(pk=case.pk, oncall_notified_at=now).update(oncall_notified_at=None)
            logger.warning("on-call notification failed for case %s: %s", case.pk, type(exc).__name__)
            continue
        audit_record(actor=None, action="crisis_case.oncall_notified", target=case,
                     after={"channel": settings.CRISIS_ONCALL_CHANNEL})
        sent += 1
    return sent
