"""What pairing asks chat about the sessions mitras and clients hold (registered on
`pairing.hooks.SESSION_LOAD` in ChatConfig): capacity, wellbeing limits, the one-live-
session rule, the client's previous mitra. Pairing stands below chat and never reads
sessions itself."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q

from accounts.models import Mitra
from accounts.selectors import platform_settings

from .models import LIVE_STATES, Session


def start_of_day(now: datetime) -> datetime:
    """Midnight in the staff time zone (a mitra's "day" is a Jakarta day)."""
    local = now.astimezone(ZoneInfo(settings.STAFF_TIME_ZONE))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def filter_available(qs, *, now: datetime, settings_row):
    """Mitras below capacity and within their wellbeing limits (a daily cap, a pause
    after a risk-flagged session), annotated with `live`."""
    # distinct: defensive — the counts below join the same sessions again.
    qs = (qs.annotate(live=Count("sessions", filter=Q(sessions__state__in=LIVE_STATES), distinct=True))
          .filter(live__lt=settings_row.max_customers_per_mitra))
    if settings_row.mitra_daily_session_cap:
        qs = qs.annotate(
            today=Count("sessions", filter=Q(sessions__matched_at__gte=start_of_day(now)), distinct=True)
        ).filter(today__lt=settings_row.mitra_daily_session_cap)
    if settings_row.pause_after_flagged_minutes:
        recent_flag = Session.objects.filter(
            mitra=OuterRef("pk"), closed_at__gte=now - timedelta(minutes=settings_row.pause_after_flagged_minutes)
        ).exclude(risk_level="")
        qs = qs.exclude(Exists(recent_flag))
    # Crisis triage: a mitra already holding live flagged sessions up to the limit gets no offers.
    limit = settings.CRISIS_MAX_FLAGGED_PER_MITRA
    if limit:
        qs = qs.annotate(
            live_flagged=Count("sessions", filter=Q(sessions__state__in=LIVE_STATES) & ~Q(sessions__risk_level=""),
                               distinct=True)
        ).filter(live_flagged__lt=limit)
    return qs


def mitra_wellbeing_block(mitra_id, now: datetime) -> str | None:
    """Why this mitra may not take a new session now (daily cap, pause, the limit on live
    flagged sessions), or None."""
    settings_row = platform_settings()
    if settings_row.mitra_daily_session_cap:
        today = Session.objects.filter(mitra_id=mitra_id, matched_at__gte=start_of_day(now)).count()
        if today >= settings_row.mitra_daily_session_cap:
            return "daily session cap reached"
    if settings_row.pause_after_flagged_minutes:
        since = now - timedelta(minutes=settings_row.pause_after_flagged_minutes)
        if Session.objects.filter(mitra_id=mitra_id, closed_at__gte=since).exclude(risk_level="").exists():
            return "pause after a risk-flagged session"
    limit = settings.CRISIS_MAX_FLAGGED_PER_MITRA
    if limit and live_flagged_sessions(mitra_id) >= limit:
        return "holds a live risk-flagged session"
    return None


def live_flagged_sessions(mitra_id) -> int:
    """Live sessions of this mitra that the crisis check flagged (the per-mitra limit)."""
    return Session.objects.filter(mitra_id=mitra_id, state__in=LIVE_STATES).exclude(risk_level="").count()


def mitra_live_sessions(mitra_id) -> int:
    return Session.objects.filter(mitra_id=mitra_id, state__in=LIVE_STATES).count()


def client_has_live_session(client_id) -> bool:
    return Session.objects.filter(client_id=client_id, state__in=LIVE_STATES).exists()


def previous_mitra(client) -> Mitra | None:
    last = (Session.objects.filter(client=client, state="closed").select_related("mitra")
            .order_by("-closed_at").first())
    if last and last.mitra.is_active:
        return last.mitra
    return None
